/**
 * The DuckDB warehouse: one database file holding the same tables, keys,
 * history, `_current` views, held facts and exactly-once ledger as the
 * PostgreSQL warehouse. A run loads in one transaction: DuckDB reads each
 * Parquet file itself, dimensions are upserted, facts appended, and the run
 * is recorded in the ledger; a load killed midway leaves nothing behind.
 *
 * A DuckDB file admits one writing process. The file is opened for each
 * call and closed after it, so an analyst can open it between loads; while
 * another process holds it, a call fails saying so (retryable).
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { tmpdir } from 'node:os'
import { openDuckDb, type DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import type { LoadedTable } from '../../schema/summaries.js'
import { inDependencyOrder, type TableSpec } from '../../schema/table-spec.js'
import { quoteIdent } from '../../sql/quote.js'
import { DEFAULT_CAPABILITIES, type DriftFinding, type LedgerDetail, type LedgerRange, type LedgerRow, type LoadPlan, type LoadResult, type Warehouse, type WarehouseCapabilities } from '../warehouse.js'
import type { DuckDbWarehouseConfig } from './duckdb-config.js'
import { createCurrentViewSql, createHeldTableSql, createTableSql } from '../table-ddl.js'
import { createLedgerSql, duckDbColumnType } from './duckdb-ddl.js'
import { loadDimension } from './duckdb-dimensions.js'
import { loadError, openError, warehouseError } from './duckdb-errors.js'
import { loadFacts, releaseHeldFacts } from './duckdb-facts.js'
import { checkColumns, ensureVersionKeys } from './duckdb-introspection.js'
import { isLoaded, readLedger, readLedgerDetail, recordLoad } from './duckdb-ledger.js'
import { compareWithLedger } from '../drift.js'
import { observeWarehouse } from './duckdb-drift.js'
import { swapInBuild } from './duckdb-rebuild.js'

export class DuckDbWarehouse implements Warehouse {
  /** Foreign keys are declared and enforced (see duckdb-ddl.ts for why DuckDB's limits do not bite). */
  readonly capabilities: WarehouseCapabilities = Object.freeze({ ...DEFAULT_CAPABILITIES, enforcesForeignKeys: true })
  readonly #config: DuckDbWarehouseConfig
  /** Calls run one after another: one process, one open handle on the file at a time. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(config: DuckDbWarehouseConfig) {
    this.#config = Object.freeze({ ...config })
  }

  async ensureTables(schema: string, tables: readonly TableSpec[]): Promise<void> {
    await this.#session(true, (db) =>
      transaction(db, async () => {
        await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
        for (const spec of inDependencyOrder(tables)) {
          await db.run(createTableSql(schema, spec, duckDbColumnType))
          if (spec.kind === 'fact') {
            await db.run(createHeldTableSql(schema, spec, duckDbColumnType, 'VARCHAR'))
            await db.run(createCurrentViewSql(schema, spec))
          }
        }
        for (const sql of createLedgerSql(schema)) await db.run(sql)
        await checkColumns(db, schema, tables)
        await ensureVersionKeys(db, schema, tables)
      }),
    )
  }

  async loadRun(plan: LoadPlan): Promise<LoadResult> {
    return this.#session(true, (db) =>
      transaction(db, async (): Promise<LoadResult> => {
        if (await isLoaded(db, plan.schema, plan.runId)) return { runId: plan.runId, status: 'already-loaded', tables: [] }
        const loaded: LoadedTable[] = []
        for (const table of plan.tables) {
          try {
            loaded.push(table.spec.kind === 'fact' ? await loadFacts(db, plan, table) : await loadDimension(db, plan, table))
          } catch (error) {
            throw loadError(error, plan.runId, table.spec.name, table.spec.kind)
          }
          plan.onTableLoaded?.(loaded.at(-1)!)
        }
        // Facts held by earlier runs may be waiting for dimension rows this run brought.
        for (const spec of plan.facts) {
          if (plan.tables.some((t) => t.spec.name === spec.name)) continue
          try {
            const released = await releaseHeldFacts(db, plan, spec)
            if (released) loaded.push(released)
          } catch (error) {
            throw loadError(error, plan.runId, spec.name, spec.kind)
          }
        }
        await recordLoad(db, plan, loaded)
        return { runId: plan.runId, status: 'loaded', tables: loaded }
      }),
    )
  }

  async checkAgainstLedger(schema: string, tables: readonly TableSpec[]): Promise<readonly DriftFinding[]> {
    // No file yet: nothing loaded, nothing to differ from (and reading must not create it).
    if (!existsSync(this.#config.path)) return []
    return this.#session(false, async (db) => {
      // One transaction: one snapshot; it writes nothing and is rolled back.
      await db.run('BEGIN TRANSACTION')
      try {
        return compareWithLedger(tables, await observeWarehouse(db, schema, tables))
      } finally {
        await db.run('ROLLBACK').catch(() => undefined)
      }
    })
  }

  async replaceSchema(build: string, target: string, tables: readonly TableSpec[]): Promise<void> {
    await this.#session(true, (db) => transaction(db, () => swapInBuild(db, build, target, tables)))
  }

  async dropSchema(schema: string): Promise<void> {
    if (!existsSync(this.#config.path)) return
    await this.#session(false, (db) => db.run(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`))
  }

  async ledgerDetail(schema: string, facts: readonly TableSpec[], range?: Pick<LedgerRange, 'from'>): Promise<LedgerDetail> {
    if (!existsSync(this.#config.path)) return { tables: [], held: [] }
    return this.#session(false, (db) => readLedgerDetail(db, schema, facts, range?.from))
  }

  async loadedRuns(schema: string, range?: LedgerRange): Promise<readonly LedgerRow[]> {
    // Reading never creates the file: a warehouse never loaded has no runs.
    if (!existsSync(this.#config.path)) return []
    return this.#session(false, (db) => readLedger(db, schema, range))
  }

  async newestLoadedRun(schema: string): Promise<LedgerRow | undefined> {
    return (await this.loadedRuns(schema, { newest: true })).at(-1)
  }

  async close(): Promise<void> {
    await this.#queue.catch(() => undefined)
  }

  /** Opens the file, runs `work`, closes it; one call at a time. */
  #session<T>(create: boolean, work: (db: DuckDb) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const { path, scratchDir, memoryLimit } = this.#config
      if (create) await mkdir(dirname(path), { recursive: true })
      let db: DuckDb
      try {
        db = await openDuckDb({ path, scratchDir: scratchDir ?? tmpdir(), ...(memoryLimit ? { memoryLimit } : {}) })
      } catch (error) {
        throw openError(error, path)
      }
      try {
        return await work(db)
      } catch (error) {
        throw warehouseError(error, path)
      } finally {
        db.close()
      }
    }
    const result = this.#queue.then(run, run)
    this.#queue = result.catch(() => undefined)
    return result
  }
}

/** BEGIN, work, COMMIT; ROLLBACK on any failure (DuckDB then discards every change of the run). */
async function transaction<T>(db: DuckDb, work: () => Promise<T>): Promise<T> {
  await db.run('BEGIN TRANSACTION')
  let result: T
  try {
    result = await work()
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined)
    throw error
  }
  await db.run('COMMIT')
  return result
}
