/**
 * DuckDB in-process: the engine that runs the SQL models and moves Parquet,
 * and the DuckDB warehouse's database. One small wrapper so the rest of the
 * code never touches the driver's types.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { quoteLiteral } from '../../sql/quote.js'

export interface DuckDbOptions {
  /** Where DuckDB spills when a sort or join outgrows memory. */
  readonly scratchDir: string
  /** e.g. '1GB'; default DuckDB's own (80% of RAM). */
  readonly memoryLimit?: string
  readonly threads?: number
  /** A database file to open (created if missing; one writing process at a time). Default: in memory. */
  readonly path?: string
  /**
   * Whether a query without ORDER BY returns rows in the order they were
   * read (DuckDB's default, true). False lets each thread write its own part
   * of a COPY or CREATE TABLE at once, where true holds the parts that
   * finish early in memory until their turn: a scale-100 transform peaked
   * at 465 MB of RSS with true, 276 MB with false. Set false only where no
   * reader depends on row order; an explicit ORDER BY still orders.
   */
  readonly preserveInsertionOrder?: boolean
}

/**
 * After a query, DuckDB's allocator keeps freed memory for the next one up
 * to this much (DuckDB's default 128 MiB, and 512 MiB after a bulk free)
 * before giving it back to the system: memory outside the memory limit that
 * counts in the process's RSS. 32 MB took a scale-100 transform from 276 to
 * 232 MB of peak RSS.
 */
const ALLOCATOR_FLUSH_THRESHOLD = '32MB'

/** A value bound to `$1`, `$2`...: numbers bind as DOUBLE, so cast them in SQL where an integer is meant. */
export type DuckDbParameter = string | number | bigint | boolean | null

export interface DuckDb {
  /** Runs one statement; returns the rows it inserted, updated or deleted. */
  run(sql: string, values?: readonly DuckDbParameter[]): Promise<number>
  /** Rows as plain JSON-safe objects (decimals, BIGINTs and dates as strings). */
  all<Row = Record<string, unknown>>(sql: string, values?: readonly DuckDbParameter[]): Promise<Row[]>
  close(): void
}

export async function openDuckDb(options: DuckDbOptions): Promise<DuckDb> {
  // Loaded on first use: the native module costs start-up time that extract never needs.
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(options.path ?? ':memory:')
  let connection: DuckDBConnection
  try {
    connection = await instance.connect()
  } catch (error) {
    instance.closeSync()
    throw error
  }
  const db: DuckDb = {
    async run(sql, values) {
      const result = await connection.run(sql, values ? [...values] : undefined)
      return result.rowsChanged
    },
    async all<Row>(sql: string, values?: readonly DuckDbParameter[]) {
      const reader = await connection.runAndReadAll(sql, values ? [...values] : undefined)
      return reader.getRowObjectsJson() as Row[]
    },
    close() {
      connection.closeSync()
      instance.closeSync()
    },
  }
  try {
    await db.run(`SET temp_directory = ${quoteLiteral(options.scratchDir)}`)
    if (options.memoryLimit) await db.run(`SET memory_limit = ${quoteLiteral(options.memoryLimit)}`)
    if (options.threads) await db.run(`SET threads = ${Number(options.threads)}`)
    if (options.preserveInsertionOrder === false) await db.run('SET preserve_insertion_order = false')
    // Every file DuckDB reads here is local (lake objects are fetched first): the OS already caches them.
    await db.run('SET enable_external_file_cache = false')
    await db.run(`SET allocator_flush_threshold = ${quoteLiteral(ALLOCATOR_FLUSH_THRESHOLD)}`)
    await db.run(`SET allocator_bulk_deallocation_flush_threshold = ${quoteLiteral(ALLOCATOR_FLUSH_THRESHOLD)}`)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}
