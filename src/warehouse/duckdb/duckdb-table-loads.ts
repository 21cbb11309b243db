/**
 * The Parquet loader on a DuckDB warehouse file: DuckDB reads the Parquet
 * itself (`read_parquet` into the table, streamed, never whole in memory),
 * and every table and the ledger change in one transaction.
 *
 * The warehouse file is ATTACHed to an in-memory instance, so the checked
 * local copies and the target are read and written by one engine.
 */
import { makeScratchDir, removeScratchDir } from '../../core/scratch-space.js'
import { tmpdir } from 'node:os'
import { StarlineError } from '../../core/starline-error.js'
import { driverMessage } from '../../core/driver-message.js'
import { openDuckDb, type DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { parquetSelectSql } from '../../engines/duckdb/parquet-select.js'
import { duckdbColumnType } from '../../schema/parquet-table.js'
import { quoteIdent, quoteIdentList, quoteLiteral } from '../../sql/quote.js'
import { WarehouseError, WarehouseSchemaMismatchError } from '../errors.js'
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

export interface DuckDbTableLoadsConfig {
  /** Absolute path of the warehouse's `.duckdb` file (created if missing). */
  readonly path: string
  readonly scratchDir?: string
  readonly memoryLimit?: string
}

/** The catalog name the warehouse file is attached as. */
const CATALOG = 'warehouse'

export class DuckDbTableLoads implements TableLoads {
  // DuckDB keeps names whole; the stricter default keeps a spec portable to PostgreSQL.
  readonly capabilities = DEFAULT_TABLE_LOADS_CAPABILITIES
  readonly #config: DuckDbTableLoadsConfig

  constructor(config: DuckDbTableLoadsConfig) {
    this.#config = Object.freeze({ ...config })
  }

  async lastLoads(schema: string): Promise<ReadonlyMap<string, LastLoad>> {
    return this.#withDb(async (db) => {
      const exists = await db.all(
        `SELECT 1 FROM duckdb_tables() WHERE database_name = ${quoteLiteral(CATALOG)} AND schema_name = ${quoteLiteral(schema)} ` +
          `AND table_name = ${quoteLiteral(LOADER_LEDGER_TABLE)}`,
      )
      if (exists.length === 0) return new Map()
      const rows = await db.all<{ table_name: string; fingerprint: string; files: string }>(
        `SELECT table_name, fingerprint, files FROM ${name(schema, LOADER_LEDGER_TABLE)}`,
      )
      return new Map(rows.map((r) => [r.table_name, { fingerprint: r.fingerprint, files: r.files }]))
    })
  }

  async load(schema: string, tables: readonly TableLoad[]): Promise<readonly TableLoadResult[]> {
    return this.#withDb(async (db) => {
      await db.run('BEGIN TRANSACTION')
      try {
        await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(CATALOG)}.${quoteIdent(schema)}`)
        await db.run(
          `CREATE TABLE IF NOT EXISTS ${name(schema, LOADER_LEDGER_TABLE)} (table_name VARCHAR PRIMARY KEY, mode VARCHAR NOT NULL, ` +
            'fingerprint VARCHAR NOT NULL, files VARCHAR NOT NULL, rows BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)',
        )
        // The plan read the ledger outside this transaction: an overlapping load may have committed since.
        for (const table of tables) {
          const [row] = await db.all<{ fingerprint: string }>(
            `SELECT fingerprint FROM ${name(schema, LOADER_LEDGER_TABLE)} WHERE table_name = ${quoteLiteral(table.name)}`,
          )
          assertLedgerBasis(schema, table, row?.fingerprint ?? null)
        }
        const results: TableLoadResult[] = []
        for (const table of tables) {
          results.push(await loadTable(db, schema, table))
          await db.run(`DELETE FROM ${name(schema, LOADER_LEDGER_TABLE)} WHERE table_name = ${quoteLiteral(table.name)}`)
          const values = [table.name, table.mode, table.fingerprint, ledgerFiles(table)].map(quoteLiteral)
          await db.run(
            `INSERT INTO ${name(schema, LOADER_LEDGER_TABLE)} (table_name, mode, fingerprint, files, rows) VALUES (${values.join(', ')}, ${Math.trunc(table.rows)})`,
          )
        }
        await db.run('COMMIT')
        return results
      } catch (error) {
        await db.run('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  async close(): Promise<void> {
    // Nothing held: each call opens and closes the file, so other processes can open it between loads.
  }

  async #withDb<T>(work: (db: DuckDb) => Promise<T>): Promise<T> {
    const dir = await makeScratchDir(this.#config.scratchDir ?? tmpdir(), 'starline-loader')
    let db: DuckDb | undefined
    try {
      db = await openDuckDb({ scratchDir: dir, ...(this.#config.memoryLimit ? { memoryLimit: this.#config.memoryLimit } : {}) })
      await db.run("SET TimeZone = 'UTC'")
      await db.run(`ATTACH ${quoteLiteral(this.#config.path)} AS ${quoteIdent(CATALOG)}`)
      return await work(db)
    } catch (error) {
      if (error instanceof StarlineError) throw error
      throw new WarehouseError(`Loading Parquet into the DuckDB warehouse ${this.#config.path} failed: ${driverMessage(error)}`, { cause: error })
    } finally {
      db?.close()
      await removeScratchDir(dir)
    }
  }
}

function name(schema: string, table: string): string {
  return `${quoteIdent(CATALOG)}.${quoteIdent(schema)}.${quoteIdent(table)}`
}

async function loadTable(db: DuckDb, schema: string, table: TableLoad): Promise<TableLoadResult> {
  const target = name(schema, table.name)
  const existing = await db.all<{ column_name: string }>(
    `SELECT column_name FROM duckdb_columns() WHERE database_name = ${quoteLiteral(CATALOG)} AND schema_name = ${quoteLiteral(schema)} ` +
      `AND table_name = ${quoteLiteral(table.name)}`,
  )
  const created = existing.length === 0
  if (created) {
    const lines = table.columns.map((c) => `${quoteIdent(c.name)} ${duckdbColumnType(c.type)}`)
    await db.run(`CREATE TABLE ${target} (${lines.join(', ')})`)
  } else {
    const missing = table.columns.map((c) => c.name).filter((n) => !existing.some((e) => e.column_name === n))
    if (missing.length > 0) {
      throw new WarehouseSchemaMismatchError(
        `Table "${schema}"."${table.name}" exists without column(s) ${missing.map((m) => `"${m}"`).join(', ')} of the spec. ` +
          'Add them, or drop the table so the loader creates it; nothing was loaded.',
        { context: { table: table.name } },
      )
    }
  }
  const paths = table.files.map((f) => f.localPath)
  if (table.mode === 'truncate') await db.run(`DELETE FROM ${target}`)
  if (table.mode === 'merge') {
    const keyColumns = table.columns.filter((c) => table.key.includes(c.name))
    const match = table.key.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ')
    await db.run(`DELETE FROM ${target} t WHERE EXISTS (SELECT 1 FROM (${parquetSelectSql(keyColumns, paths)}) s WHERE ${match})`)
  }
  const [inserted] = await db.all<{ Count: string | number }>(
    `INSERT INTO ${target} (${quoteIdentList(table.columns.map((c) => c.name))}) ${parquetSelectSql(table.columns, paths)}`,
  )
  return { table: table.name, mode: table.mode, rows: Number(inserted?.Count ?? 0), created }
}
