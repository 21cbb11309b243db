/**
 * The Parquet loader on PostgreSQL. DuckDB turns each table's files into one
 * CSV file on scratch disk, which is streamed into the table with COPY FROM
 * STDIN, so memory stays flat whatever the files' size. Every table and the
 * ledger change in one transaction: a failure anywhere leaves all as they were.
 */
import { makeScratchDir, removeScratchDir } from '../../core/scratch-space.js'
import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { driverMessage } from '../../core/driver-message.js'
import { openDuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { parquetSelectSql } from '../../engines/duckdb/parquet-select.js'
import { isRetryablePostgresError } from '../../engines/postgres/postgres-errors.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { redactUrl } from '../../core/redact.js'
import { columnTypeText } from '../../schema/parquet-table.js'
import { qualify, quoteIdent, quoteIdentList, quoteLiteral } from '../../sql/quote.js'
import { WarehouseError, WarehouseLoadError, WarehouseSchemaMismatchError, WarehouseUnreachableError } from '../errors.js'
import {
  assertLedgerBasis,
  DEFAULT_TABLE_LOADS_CAPABILITIES,
  LOADER_LEDGER_TABLE,
  ledgerFiles,
  type LastLoad,
  type TableLoad,
  type TableLoadResult,
  type TableLoads,
} from '../table-loads.js'

export interface PostgresTableLoadsConfig {
  /** A `postgres://` URL, or a ready pool (tests, Lambda). */
  readonly url?: string
  readonly pool?: pg.Pool
  /** Where DuckDB writes the CSV it streams (default the OS temp dir). */
  readonly scratchDir?: string
  readonly memoryLimit?: string
}

export class PostgresTableLoads implements TableLoads {
  readonly capabilities = DEFAULT_TABLE_LOADS_CAPABILITIES
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #describe: string
  readonly #scratchDir: string | undefined
  readonly #memoryLimit: string | undefined

  constructor(config: PostgresTableLoadsConfig) {
    if (config.pool) {
      this.#pool = config.pool
      this.#ownsPool = false
      this.#describe = 'the warehouse database'
    } else if (config.url) {
      this.#pool = new pg.Pool({ connectionString: config.url, max: 1, application_name: 'starline-loader', connectionTimeoutMillis: 15_000 })
      // An idle client's error (server restart) must not crash the process.
      this.#pool.on('error', () => {})
      this.#ownsPool = true
      this.#describe = `the warehouse database ${redactUrl(config.url)}`
    } else {
      throw new WarehouseError('PostgresTableLoads needs a url or a pool.')
    }
    this.#scratchDir = config.scratchDir
    this.#memoryLimit = config.memoryLimit
  }

  async lastLoads(schema: string): Promise<ReadonlyMap<string, LastLoad>> {
    return this.#withClient(async (client) => {
      const ledger = qualify(schema, LOADER_LEDGER_TABLE)
      const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [ledger])
      if (!exists.rows[0]?.t) return new Map()
      const rows = await client.query<{ table_name: string; fingerprint: string; files: string }>(`SELECT table_name, fingerprint, files FROM ${ledger}`)
      return new Map(rows.rows.map((r) => [r.table_name, { fingerprint: r.fingerprint, files: r.files }]))
    })
  }

  async load(schema: string, tables: readonly TableLoad[]): Promise<readonly TableLoadResult[]> {
    const dir = await makeScratchDir(this.#scratchDir ?? tmpdir(), 'starline-loader')
    const db = await openDuckDb({ scratchDir: dir, ...(this.#memoryLimit ? { memoryLimit: this.#memoryLimit } : {}) })
    try {
      await db.run("SET TimeZone = 'UTC'")
      // Memory flat in file size: no in-memory copy of the files' bytes, and no buffering
      // of the whole COPY to keep row order, which means nothing in a table.
      await db.run('SET enable_external_file_cache = false')
      await db.run('SET preserve_insertion_order = false')
      return await this.#withClient((client) =>
        inTransaction(client, async () => {
          // Loads of one schema never interleave (two Lambda invocations for two tables).
          await client.query("SELECT pg_advisory_xact_lock(hashtextextended('starline-loader:' || $1, 0))", [schema])
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
          await client.query(createLedgerSql(schema))
          // The plan read the ledger before this lock: an overlapping load may have committed since.
          for (const table of tables) {
            const row = await client.query<{ fingerprint: string }>(
              `SELECT fingerprint FROM ${qualify(schema, LOADER_LEDGER_TABLE)} WHERE table_name = $1`,
              [table.name],
            )
            assertLedgerBasis(schema, table, row.rows[0]?.fingerprint ?? null)
          }
          const results: TableLoadResult[] = []
          for (const table of tables) {
            const csv = join(dir, `${randomUUID()}.csv`)
            await db.run(`COPY (${parquetSelectSql(table.columns, table.files.map((f) => f.localPath))}) TO ${quoteLiteral(csv)} (FORMAT csv, HEADER false)`)
            try {
              results.push(await loadTable(client, schema, table, csv))
            } finally {
              await rm(csv, { force: true })
            }
            await client.query(
              `INSERT INTO ${qualify(schema, LOADER_LEDGER_TABLE)} (table_name, mode, fingerprint, files, rows) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (table_name) DO UPDATE SET mode = EXCLUDED.mode, fingerprint = EXCLUDED.fingerprint,
                 files = EXCLUDED.files, rows = EXCLUDED.rows, loaded_at = now()`,
              [table.name, table.mode, table.fingerprint, ledgerFiles(table), table.rows],
            )
          }
          return results
        }),
      )
    } finally {
      db.close()
      await removeScratchDir(dir)
    }
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end()
  }

  async #withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw new WarehouseUnreachableError(`Cannot connect to ${this.#describe}: ${messageOf(error)}. Check STARLINE_WAREHOUSE_URL.`, {
        cause: error,
        retryable: isRetryablePostgresError(error),
      })
    }
    try {
      return await work(client)
    } catch (error) {
      if (error instanceof StarlineError) throw error
      throw new WarehouseError(`Loading Parquet into ${this.#describe} failed: ${driverMessage(error)}`, {
        cause: error,
        retryable: isRetryablePostgresError(error),
      })
    } finally {
      client.release()
    }
  }
}

function createLedgerSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, LOADER_LEDGER_TABLE)} (
  table_name text PRIMARY KEY,
  mode text NOT NULL,
  fingerprint text NOT NULL,
  files text NOT NULL,
  rows bigint NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
)`
}

/** `CREATE TABLE IF NOT EXISTS` for a loader table, in spec column order. */
function createLoaderTableSql(schema: string, table: Pick<TableLoad, 'name' | 'columns'>): string {
  const lines = table.columns.map((c) => `  ${quoteIdent(c.name)} ${columnTypeText(c.type)}`)
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, table.name)} (\n${lines.join(',\n')}\n)`
}

async function loadTable(client: pg.PoolClient, schema: string, table: TableLoad, csv: string): Promise<TableLoadResult> {
  const target = qualify(schema, table.name)
  const existing = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [schema, table.name],
  )
  const created = existing.rowCount === 0
  if (created) await client.query(createLoaderTableSql(schema, table))
  else assertColumns(schema, table, existing.rows.map((r) => r.column_name))
  const columns = quoteIdentList(table.columns.map((c) => c.name))
  let rows: number
  if (table.mode === 'merge') {
    const stage = quoteIdent(`_starline_stage_${table.name}`.slice(0, 63))
    await client.query(`CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${columns} FROM ${target} WITH NO DATA`)
    rows = await copyInto(client, table, stage, columns, csv)
    const match = table.key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ')
    await client.query(`DELETE FROM ${target} t USING ${stage} s WHERE ${match}`)
    await client.query(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage}`)
  } else {
    // DELETE, not TRUNCATE: TRUNCATE takes ACCESS EXCLUSIVE and would block every reader for the whole load;
    // DELETE is MVCC, so readers keep seeing the old rows until COMMIT.
    if (table.mode === 'truncate') await client.query(`DELETE FROM ${target}`)
    rows = await copyInto(client, table, target, columns, csv)
  }
  if (rows !== table.rows) {
    throw new WarehouseLoadError(`Table "${table.name}": COPY loaded ${rows} rows but the files hold ${table.rows}. Nothing was loaded; run again.`, {
      context: { table: table.name },
    })
  }
  return { table: table.name, mode: table.mode, rows, created }
}

function assertColumns(schema: string, table: TableLoad, existing: readonly string[]): void {
  const missing = table.columns.map((c) => c.name).filter((name) => !existing.includes(name))
  if (missing.length > 0) {
    throw new WarehouseSchemaMismatchError(
      `Table "${schema}"."${table.name}" exists without column(s) ${missing.map((m) => `"${m}"`).join(', ')} of the spec. ` +
        'Add them, or drop the table so the loader creates it; nothing was loaded.',
      { context: { table: table.name } },
    )
  }
}

async function copyInto(client: pg.PoolClient, table: TableLoad, relation: string, columns: string, csv: string): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${relation} (${columns}) FROM STDIN WITH (FORMAT csv)`))
  try {
    await pipeline(createReadStream(csv), copy)
  } catch (error) {
    throw new WarehouseLoadError(`Table "${table.name}": COPY failed: ${driverMessage(error)}. Nothing was loaded.`, {
      cause: error,
      retryable: isRetryablePostgresError(error),
      context: { table: table.name },
    })
  }
  return copy.rowCount
}
