/**
 * The crash suites' world: one embedded PostgreSQL holding source templates
 * and a database per pipeline (created from a template in milliseconds), a
 * lake directory per pipeline, and the settings a `starline run` child needs.
 * Everything a kill point needs is cloned, never rebuilt: the budget is
 * spent on the kills and the reruns.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { generateTotesys } from '../../src/datasets/totesys/generator.js'
import { simulateActivity } from '../../src/datasets/totesys/simulator.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/runtime/embedded-postgres-server.js'
import { quoteIdent } from '../../src/sql/quote.js'

/** History ends at the start of Tuesday 2024-11-19: the simulated next day is a trading day. */
const UNTIL = new Date('2024-11-19T00:00:00Z')
/** The seed of the simulated day between two runs: the same in every pipeline, so the sources stay equal. */
export const DAY_SEED = 7

/** Runs `sql` on `url` with a short-lived client. */
export async function query<R extends pg.QueryResultRow>(url: string, sql: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {}) // a server killed under a test's client is the point, not a failure
  await client.connect()
  try {
    return (await client.query<R>(sql, values)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

/** Advances a source by one simulated day, the same day in every pipeline (same seed, same starting state). */
export async function simulateDay(sourceUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: sourceUrl })
  await client.connect()
  try {
    await simulateActivity(client, { days: 1, seed: DAY_SEED })
  } finally {
    await client.end()
  }
}

/** A source, a lake and a warehouse; `env` runs `starline` on them. */
export interface CrashPipeline {
  readonly name: string
  readonly sourceUrl: string
  readonly warehouseUrl: string
  readonly lakeDir: string
  readonly env: Readonly<Record<string, string>>
  /** Drops its databases and removes its lake. */
  dispose(): Promise<void>
}

/** Where a pipeline's parts come from: templates to clone, or nothing (new). */
export interface PipelineSeed {
  readonly sourceTemplate: string
  readonly warehouseTemplate?: string
  readonly lakeFrom?: string
}

export class CrashWorld {
  readonly #sourceServer: EmbeddedPostgresServer
  readonly #warehouseServer: EmbeddedPostgresServer
  readonly #scale: number
  #counter = 0

  private constructor(sourceServer: EmbeddedPostgresServer, warehouseServer: EmbeddedPostgresServer, scale: number) {
    this.#sourceServer = sourceServer
    this.#warehouseServer = warehouseServer
    this.#scale = scale
  }

  /**
   * Starts the servers and generates the source template `day0` at `scale`.
   * With `separateWarehouse`, the warehouse has its own server, so either can
   * be killed alone.
   */
  static async start(scale: number, options: { separateWarehouse?: boolean } = {}): Promise<CrashWorld> {
    const source = await startEmbeddedPostgres()
    const warehouse = options.separateWarehouse ? await startEmbeddedPostgres() : source
    const world = new CrashWorld(source, warehouse, scale)
    const url = await source.createDatabase('day0')
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await generateTotesys(client, { scale, until: UNTIL, seed: 42 })
    } finally {
      await client.end()
    }
    return world
  }

  get sourceServer(): EmbeddedPostgresServer {
    return this.#sourceServer
  }

  get warehouseServer(): EmbeddedPostgresServer {
    return this.#warehouseServer
  }

  /** A new source template: `from` advanced by one simulated day. */
  async dayAfter(from: string, name: string): Promise<string> {
    await this.#clone(this.#sourceServer, name, from)
    await simulateDay(this.#sourceServer.url(name))
    return name
  }

  /** Freezes a pipeline's warehouse as a template (nothing may be connected to it). */
  async freezeWarehouse(pipeline: CrashPipeline, name: string): Promise<string> {
    await this.#clone(this.#warehouseServer, name, pipeline.name.replace(/^p/, 'w'))
    return name
  }

  async pipeline(seed: PipelineSeed, env: Readonly<Record<string, string>> = {}): Promise<CrashPipeline> {
    const name = `p${++this.#counter}`
    const sourceName = name.replace(/^p/, 's')
    const warehouseName = name.replace(/^p/, 'w')
    await this.#clone(this.#sourceServer, sourceName, seed.sourceTemplate)
    if (seed.warehouseTemplate) await this.#clone(this.#warehouseServer, warehouseName, seed.warehouseTemplate)
    else await this.#warehouseServer.createDatabase(warehouseName)
    const lakeDir = mkdtempSync(join(tmpdir(), 'starline-crash-lake-'))
    if (seed.lakeFrom) cpSync(seed.lakeFrom, lakeDir, { recursive: true })
    const sourceUrl = this.#sourceServer.url(sourceName)
    const warehouseUrl = this.#warehouseServer.url(warehouseName)
    const scratch = join(lakeDir, '.scratch')
    mkdirSync(scratch, { recursive: true })
    return {
      name,
      sourceUrl,
      warehouseUrl,
      lakeDir,
      env: {
        STARLINE_SOURCE_URL: sourceUrl,
        STARLINE_WAREHOUSE_URL: warehouseUrl,
        STARLINE_INGESTION_URL: `file://${join(lakeDir, 'ingestion')}`,
        STARLINE_PROCESSED_URL: `file://${join(lakeDir, 'processed')}`,
        STARLINE_SCRATCH_DIR: scratch,
        STARLINE_EXTRACT_LAG: '0ms',
        // Every run reconciles: runs minutes apart behave alike, and the baselines are more boundaries to kill at.
        STARLINE_RECONCILE_INTERVAL: '0s',
        STARLINE_LOG_LEVEL: 'debug',
        ...env,
      },
      dispose: async () => {
        rmSync(lakeDir, { recursive: true, force: true })
        await this.#drop(this.#sourceServer, sourceName)
        await this.#drop(this.#warehouseServer, warehouseName)
      },
    }
  }

  async stop(): Promise<void> {
    await this.#sourceServer.stop()
    if (this.#warehouseServer !== this.#sourceServer) await this.#warehouseServer.stop()
  }

  async #clone(server: EmbeddedPostgresServer, name: string, template: string): Promise<void> {
    await query(server.url('postgres'), `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`)
  }

  async #drop(server: EmbeddedPostgresServer, name: string): Promise<void> {
    await query(server.url('postgres'), `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {})
  }

  /** The scale the templates were generated at. */
  get scale(): number {
    return this.#scale
  }
}
