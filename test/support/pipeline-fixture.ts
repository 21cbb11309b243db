/**
 * A real pipeline for integration tests: one embedded PostgreSQL per test
 * file, a generated ToteSys source (cloned per test from a template), a lake
 * (a temp dir, or a bucket on one moto_server per test file), and a
 * warehouse database.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import pg from 'pg'
import type { StarlineConfig } from '../../src/config/config.js'
import { generateTotesys } from '../../src/datasets/totesys/generator.js'
import { silentLogger } from '../../src/observe/logger.js'
import type { StageContext } from '../../src/pipeline/context.js'
import { runCycle } from '../../src/pipeline/run.js'
import type { RunSummary } from '../../src/schema/summaries.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/runtime/embedded-postgres-server.js'
import { extractOptions, loadOptions, localConfig, openConfiguredWarehouse, stageContext } from '../../src/runtime/pipeline-setup.js'
import { qualify, quoteIdent } from '../../src/sql/quote.js'
import { startMoto, useEnv, type MotoServer } from './moto-server.js'
import { motoClient } from './s3-test-client.js'

/** History ends at the start of Tuesday 2024-11-19: the simulator's next day is a trading day. */
export const UNTIL = new Date('2024-11-19T00:00:00Z')

/** Where a test pipeline keeps its lake: a temp dir, or a bucket on the fixture's moto_server. */
export const LAKE_KINDS = ['fs', 's3'] as const
export type LakeKind = (typeof LAKE_KINDS)[number]

export interface Pipeline {
  readonly lake: LakeKind
  readonly config: StarlineConfig
  /** What a child process (the CLI) needs on top of the STARLINE_* settings to reach the lake. */
  readonly lakeEnv: Readonly<Record<string, string>>
  readonly ctx: StageContext
  readonly sourceUrl: string
  readonly warehouseUrl: string
  /** A temp dir: the lake itself for 'fs', scratch space for 's3'. */
  readonly lakeDir: string
  /** Extract, transform and load once. */
  cycle(): Promise<RunSummary>
  /** Runs `sql` against the source. */
  source<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>
  warehouse<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>
  close(): Promise<void>
}

/** A closed pipeline kept as a starting point: its source and warehouse databases and a copy of its lake. */
export interface FrozenPipeline {
  readonly source: string
  readonly warehouse: string
  readonly lakeDir: string
}

export class PipelineFixture {
  #server: EmbeddedPostgresServer | undefined
  #templates = new Map<string, string>()
  #counter = 0
  #open: Pipeline[] = []
  #frozen: string[] = []
  #moto: Promise<MotoServer> | undefined
  #restoreEnv: (() => void) | undefined

  async start(): Promise<void> {
    this.#server = await startEmbeddedPostgres()
  }

  get server(): EmbeddedPostgresServer {
    if (!this.#server) throw new Error('PipelineFixture.start() was not called')
    return this.#server
  }

  /** A generated ToteSys database to clone; generated once per scale. */
  async template(scale: number): Promise<string> {
    const name = `totesys_template_${String(scale).replace('.', '_')}`
    if (!this.#templates.has(name)) {
      const url = await this.server.createDatabase(name)
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await generateTotesys(client, { scale, until: UNTIL, seed: 42 })
      } finally {
        await client.end()
      }
      this.#templates.set(name, url)
    }
    return name
  }

  /** A fresh source (a copy of the generated template), lake and warehouse. */
  async pipeline(options: { scale?: number; env?: Record<string, string>; lake?: LakeKind; from?: FrozenPipeline } = {}): Promise<Pipeline> {
    const lake = options.lake ?? 'fs'
    const id = ++this.#counter
    const template = options.from?.source ?? (await this.template(options.scale ?? 0.1))
    const admin = new pg.Client({ connectionString: this.server.url('postgres') })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(`source_${id}`)} TEMPLATE ${quoteIdent(template)}`)
      if (options.from) await admin.query(`CREATE DATABASE ${quoteIdent(`warehouse_${id}`)} TEMPLATE ${quoteIdent(options.from.warehouse)}`)
    } finally {
      await admin.end()
    }
    const sourceUrl = this.server.url(`source_${id}`)
    const warehouseUrl = options.from ? this.server.url(`warehouse_${id}`) : await this.server.createDatabase(`warehouse_${id}`)
    const lakeDir = mkdtempSync(join(tmpdir(), 'starline-lake-'))
    if (options.from) cpSync(options.from.lakeDir, lakeDir, { recursive: true })
    const lakeEnv = lake === 's3' ? await this.#s3Lake(`starline-lake-${process.pid}-${id}`) : {}
    const config = localConfig({ sourceUrl, warehouseUrl }, lakeDir, { STARLINE_EXTRACT_LAG: '0ms', ...lakeEnv, ...options.env })
    const ctx = stageContext(config, silentLogger)
    const warehouse = await openConfiguredWarehouse(config)
    const sourcePool = new pg.Pool({ connectionString: sourceUrl, max: 2 })
    const warehousePool = new pg.Pool({ connectionString: warehouseUrl, max: 2 })
    // An idle client terminated by the server (a killed run's cleanup, the server stopping) is not a test failure.
    for (const pool of [sourcePool, warehousePool]) pool.on('error', () => {})
    const pipeline: Pipeline = {
      lake,
      config,
      lakeEnv,
      ctx,
      sourceUrl,
      warehouseUrl,
      lakeDir,
      cycle: () => runCycle(ctx, { extract: extractOptions(config), load: loadOptions(config, warehouse) }),
      source: async (sql, values) => (await sourcePool.query(sql, values)).rows,
      warehouse: async (sql, values) => (await warehousePool.query(sql, values)).rows,
      async close() {
        await warehouse.close()
        await sourcePool.end()
        await warehousePool.end()
        rmSync(lakeDir, { recursive: true, force: true })
      },
    }
    this.#open.push(pipeline)
    return pipeline
  }

  /**
   * Closes `pipeline` and keeps it as a starting point: pipelines made with
   * `{ from }` start with copies of its databases and lake (a fs lake only),
   * which saves each of them the cycles that brought it there.
   */
  async freeze(pipeline: Pipeline): Promise<FrozenPipeline> {
    const lakeDir = mkdtempSync(join(tmpdir(), 'starline-frozen-lake-'))
    cpSync(pipeline.lakeDir, lakeDir, { recursive: true })
    this.#frozen.push(lakeDir)
    await pipeline.close()
    this.#open = this.#open.filter((p) => p !== pipeline)
    const database = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1))
    return { source: database(pipeline.sourceUrl), warehouse: database(pipeline.warehouseUrl), lakeDir }
  }

  async stop(): Promise<void> {
    for (const pipeline of this.#open) await pipeline.close().catch(() => {})
    for (const dir of this.#frozen) rmSync(dir, { recursive: true, force: true })
    await this.#server?.stop()
    this.#restoreEnv?.()
    if (this.#moto) await (await this.#moto).stop()
  }

  /**
   * A new bucket on the fixture's moto_server (started on first use), and the
   * settings that put both lake zones in it. The AWS settings also go into
   * this process's environment, where the stages' S3 clients read them.
   */
  async #s3Lake(bucket: string): Promise<Record<string, string>> {
    if (this.#moto === undefined) {
      this.#moto = startMoto()
      // The SDK warns on stderr about Node 20's support ending; the tests run on Node 20 on purpose.
      this.#restoreEnv = useEnv({ ...(await this.#moto).env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })
    }
    const moto = await this.#moto
    const client = motoClient(moto)
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }))
    } finally {
      client.destroy()
    }
    return {
      ...moto.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      STARLINE_INGESTION_URL: `s3://${bucket}/ingestion`,
      STARLINE_PROCESSED_URL: `s3://${bucket}/processed`,
    }
  }
}

/** Every row of a warehouse table as text, in key order: for exact comparisons. */
export async function tableRows(query: Pipeline['warehouse'], table: string, orderBy: string): Promise<string[]> {
  const rows = await query<{ r: string }>(`SELECT t::text AS r FROM ${qualify('public', table)} t ORDER BY ${orderBy}`)
  return rows.map((row) => row.r)
}

/** Every star table's rows plus the ledger: two pipelines in the same state have equal snapshots. */
export async function warehouseSnapshot(pipeline: Pipeline): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {}
  for (const model of pipeline.ctx.dataset.models) {
    const spec = model.table
    const key = spec.recordId ? [spec.recordId] : (spec.primaryKey ?? [])
    snapshot[spec.name] = await tableRows(pipeline.warehouse, spec.name, key.map(quoteIdent).join(', '))
  }
  const ledger = await pipeline.warehouse<{ r: string }>(
    'SELECT (table_name, rows, inserted, updated)::text AS r FROM _starline_load_tables ORDER BY run_id, table_name',
  )
  snapshot._starline_load_tables = ledger.map((row) => row.r)
  return snapshot
}
