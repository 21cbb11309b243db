/**
 * The PostgreSQL warehouse. A run loads in one transaction, in load order
 * (every table after the tables it references): each table's Parquet is
 * turned into COPY input (postgres-staging), dimensions are upserted
 * (postgres-dimensions), facts appended with held rows set aside
 * (postgres-facts, postgres-held-rows), and the run is recorded in the
 * ledger (postgres-ledger). A second load of the same run finds it in the
 * ledger and changes nothing; a load killed midway rolls back whole.
 */
import { rm } from 'node:fs/promises'
import pg from 'pg'
import { sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { redactUrl } from '../../core/redact.js'
import type { LoadedTable } from '../../schema/summaries.js'
import { inDependencyOrder, type TableSpec } from '../../schema/table-spec.js'
import { quoteIdent } from '../../sql/quote.js'
import { DEFAULT_CAPABILITIES, type DriftFinding, type LedgerDetail, type LedgerRange, type LedgerRow, type LoadPlan, type LoadResult, type SchemaLock, type Warehouse, type WarehouseCapabilities } from '../warehouse.js'
import type { PostgresWarehouseConfig } from './postgres-config.js'
import { createCurrentViewSql, createHeldTableSql, createTableSql } from '../table-ddl.js'
import { createLedgerSql, postgresColumnType } from './postgres-ddl.js'
import { loadDimension } from './postgres-dimensions.js'
import { WarehouseError } from '../errors.js'
import { unreachableError, warehouseError, type ErrorPlace } from './postgres-errors.js'
import { directAppendBase, loadFacts, releaseHeldFacts } from './postgres-facts.js'
import { checkColumns, ensureVersionKeys } from './postgres-introspection.js'
import { isLoaded, readLedger, readLedgerDetail, recordLoad } from './postgres-ledger.js'
import { inConversionOrder, ParquetToCsv } from './postgres-staging.js'
import { compareWithLedger } from '../drift.js'
import { observeWarehouse } from './postgres-drift.js'
import { swapInBuild } from './postgres-rebuild.js'
import { holdSchemaLock } from './postgres-rebuild-lock.js'
import { firstLoadApplies, firstLoadSchemaName, loadFirst } from './postgres-first-load.js'

export class PostgresWarehouse implements Warehouse {
  readonly capabilities: WarehouseCapabilities = DEFAULT_CAPABILITIES
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #place: ErrorPlace
  readonly #toCsv: ParquetToCsv
  readonly #lockWaitMs: number
  readonly #firstLoads: boolean

  constructor(config: PostgresWarehouseConfig) {
    this.#lockWaitMs = config.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS
    this.#firstLoads = config.firstLoads ?? true
    this.#toCsv = new ParquetToCsv({ ...config.duckdb })
    if ('pool' in config) {
      this.#pool = config.pool
      this.#ownsPool = false
      this.#place = { describe: 'the warehouse database' }
    } else {
      this.#pool = new pg.Pool({ connectionString: config.url, max: 3, application_name: 'starline', connectionTimeoutMillis: 15_000 })
      // An idle client's error (server restart) must not crash the process.
      this.#pool.on('error', () => {})
      this.#ownsPool = true
      this.#place = { describe: `the warehouse database ${redactUrl(config.url)}`, ...(config.setting ? { setting: config.setting } : {}) }
    }
  }

  async ensureTables(schema: string, tables: readonly TableSpec[], options: { readonly lockWaitMs?: number } = {}): Promise<void> {
    await this.#transaction(schema, options.lockWaitMs, async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
      for (const spec of inDependencyOrder(tables)) {
        await client.query(createTableSql(schema, spec, postgresColumnType))
        if (spec.kind === 'fact') {
          await client.query(createHeldTableSql(schema, spec, postgresColumnType, 'text'))
          await client.query(createCurrentViewSql(schema, spec))
        }
      }
      for (const sql of createLedgerSql(schema)) await client.query(sql)
      // A first load killed midway left its side schema: under the lock, nothing is building there now.
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(firstLoadSchemaName(schema))} CASCADE`)
      await checkColumns(client, schema, tables)
      await ensureVersionKeys(client, schema, tables)
    })
  }

  async loadRun(plan: LoadPlan): Promise<LoadResult> {
    const csvFiles: string[] = []
    try {
      return await this.#transaction(plan.schema, plan.lockWaitMs, async (client) => {
        // Hash joins of staging against dimensions want more than the 4 MB default.
        await client.query("SET LOCAL work_mem = '256MB'")
        if (await isLoaded(client, plan)) return { runId: plan.runId, status: 'already-loaded', tables: [] }
        // An empty schema loads on two connections, into a side schema swapped in by this transaction.
        if (this.#firstLoads && (await firstLoadApplies(client, plan, this.#pool))) {
          const result = await loadFirst(client, plan, { pool: this.#pool, place: this.#place, toCsv: this.#toCsv, csvFiles })
          if (result !== undefined) return result
        }
        return this.#loadInTransaction(client, plan, csvFiles)
      })
    } finally {
      await Promise.all(csvFiles.map((file) => rm(file, { force: true })))
    }
  }

  /** The normal load, on the transaction holding the schema's load lock. */
  async #loadInTransaction(client: pg.PoolClient, plan: LoadPlan, csvFiles: string[]): Promise<LoadResult> {
    // Where each fact's record ids continue: loading one table never moves another's, so all are
    // known before the first COPY, and the next table's CSV can be made while this one is copied.
    const bases = new Map<string, number | undefined>()
    for (const table of plan.tables) {
      if (table.spec.kind === 'fact') bases.set(table.spec.name, await directAppendBase(client, plan, table))
    }
    const loaded: LoadedTable[] = []
    await inConversionOrder(plan.tables, (table) => this.#toCsv.convert(table, bases.get(table.spec.name)), csvFiles, async (table, csv) => {
      try {
        const csvPath = await csv
        loaded.push(
          table.spec.kind === 'fact'
            ? await loadFacts(client, plan, table, csvPath, bases.get(table.spec.name))
            : await loadDimension(client, plan, table, csvPath),
        )
      } catch (error) {
        throw warehouseError(error, { ...this.#place, runId: plan.runId, table: table.spec.name, kind: table.spec.kind })
      }
      plan.onTableLoaded?.(loaded.at(-1)!)
    })
    // Facts held by earlier runs may be waiting for dimension rows this run brought.
    for (const spec of plan.facts) {
      if (plan.tables.some((t) => t.spec.name === spec.name)) continue
      const released = await releaseHeldFacts(client, plan, spec)
      if (released) loaded.push(released)
    }
    await recordLoad(client, plan, loaded)
    return { runId: plan.runId, status: 'loaded', tables: loaded }
  }

  async checkAgainstLedger(schema: string, tables: readonly TableSpec[]): Promise<readonly DriftFinding[]> {
    return this.#withClient(async (client) => {
      // One snapshot: a load committing in between must not look like drift. Read only: nothing is written.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      try {
        return compareWithLedger(tables, await observeWarehouse(client, schema, tables))
      } finally {
        await client.query('ROLLBACK').catch(() => undefined)
      }
    })
  }

  async replaceSchema(build: string, target: string, tables: readonly TableSpec[]): Promise<void> {
    await this.#transaction(target, undefined, (client) => swapInBuild(client, build, target, tables))
  }

  async lockSchema(schema: string, options: { readonly waitMs?: number } = {}): Promise<SchemaLock> {
    return holdSchemaLock(this.#pool, schema, this.#place, options.waitMs ?? this.#lockWaitMs)
  }

  async dropSchema(schema: string): Promise<void> {
    await this.#withClient((client) => client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`))
  }

  async ledgerDetail(schema: string, facts: readonly TableSpec[], range?: Pick<LedgerRange, 'from'>): Promise<LedgerDetail> {
    return this.#withClient((client) => readLedgerDetail(client, schema, facts, range?.from))
  }

  async loadedRuns(schema: string, range?: LedgerRange): Promise<readonly LedgerRow[]> {
    return this.#withClient((client) => readLedger(client, schema, range))
  }

  async newestLoadedRun(schema: string): Promise<LedgerRow | undefined> {
    return (await this.loadedRuns(schema, { newest: true })).at(-1)
  }

  async close(): Promise<void> {
    await this.#toCsv.close()
    if (this.#ownsPool) await this.#pool.end()
  }

  /** A transaction holding the schema's advisory lock, so loads of one schema never interleave. */
  async #transaction<T>(schema: string, lockWaitMs: number | undefined, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#withClient((client) =>
      inTransaction(client, async () => {
        await takeSchemaLock(client, schema, this.#place, lockWaitMs ?? this.#lockWaitMs)
        return work(client)
      }),
    )
  }

  async #withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw unreachableError(error, this.#place)
    }
    // A connection lost mid-statement emits 'error' on the client: without a listener it crashes the process.
    const onError = (): void => {}
    client.on('error', onError)
    try {
      return await work(client)
    } catch (error) {
      throw warehouseError(error, this.#place)
    } finally {
      client.off('error', onError)
      client.release()
    }
  }
}

const DEFAULT_LOCK_WAIT_MS = 30_000

/**
 * The schema's advisory lock, waited for at most `waitMs`: a load
 * stuck behind another (or behind a session someone left open) fails with
 * a retryable error that says so, instead of waiting forever.
 */
async function takeSchemaLock(client: pg.ClientBase, schema: string, place: ErrorPlace, waitMs: number): Promise<void> {
  await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(waitMs))}`)
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('starline:' || $1, 0))", [schema])
  } catch (error) {
    if (sqlStateOf(error) !== '55P03') throw error
    throw new WarehouseError(
      `Another session has held the load lock of schema "${schema}" in ${place.describe} for ${waitMs / 1000} s: another starline load or rebuild is running, ` +
        'or a session holding pg_advisory_xact_lock on it was left open. Wait for it and run again (see pg_locks where locktype = \'advisory\').',
      { cause: error, retryable: true },
    )
  }
  await client.query('SET LOCAL lock_timeout = DEFAULT')
}
