/**
 * A real pipeline for integration tests: one embedded PostgreSQL per test
 * file, a generated ToteSys source (cloned per test from a template), a
 * filesystem lake in a temp dir, and a warehouse database.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

/** History ends at the start of Tuesday 2024-11-19: the simulator's next day is a trading day. */
export const UNTIL = new Date('2024-11-19T00:00:00Z')

export interface Pipeline {
  readonly config: StarlineConfig
  readonly ctx: StageContext
  readonly sourceUrl: string
  readonly warehouseUrl: string
  readonly lakeDir: string
  /** Extract, transform and load once. */
  cycle(): Promise<RunSummary>
  /** Runs `sql` against the source. */
  source<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>
  warehouse<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>
  close(): Promise<void>
}

export class PipelineFixture {
  #server: EmbeddedPostgresServer | undefined
  #templates = new Map<string, string>()
  #counter = 0
  #open: Pipeline[] = []

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
  async pipeline(options: { scale?: number; env?: Record<string, string> } = {}): Promise<Pipeline> {
    const id = ++this.#counter
    const template = await this.template(options.scale ?? 0.1)
    const admin = new pg.Client({ connectionString: this.server.url('postgres') })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(`source_${id}`)} TEMPLATE ${quoteIdent(template)}`)
    } finally {
      await admin.end()
    }
    const sourceUrl = this.server.url(`source_${id}`)
    const warehouseUrl = await this.server.createDatabase(`warehouse_${id}`)
    const lakeDir = mkdtempSync(join(tmpdir(), 'starline-lake-'))
    const config = localConfig({ sourceUrl, warehouseUrl }, lakeDir, { STARLINE_EXTRACT_LAG: '0ms', ...options.env })
    const ctx = stageContext(config, silentLogger)
    const warehouse = await openConfiguredWarehouse(config)
    const sourcePool = new pg.Pool({ connectionString: sourceUrl, max: 2 })
    const warehousePool = new pg.Pool({ connectionString: warehouseUrl, max: 2 })
    // pool.end() resolves before its idle sockets have closed; the server's
    // shutdown notice on such a socket must not become an uncaught error.
    for (const pool of [sourcePool, warehousePool]) pool.on('error', () => {})
    const pipeline: Pipeline = {
      config,
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

  async stop(): Promise<void> {
    for (const pipeline of this.#open) await pipeline.close().catch(() => {})
    await this.#server?.stop()
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
