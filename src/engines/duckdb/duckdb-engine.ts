/**
 * DuckDB in-process: the engine that runs the SQL models and moves Parquet.
 * One small wrapper so the rest of the code never touches the driver's types.
 */
import type { DuckDBConnection } from '@duckdb/node-api'
import { quoteLiteral } from '../../sql/quote.js'

export interface DuckDbOptions {
  /** Where DuckDB spills when a sort or join outgrows memory. */
  readonly scratchDir: string
  /** e.g. '1GB'; default DuckDB's own (80% of RAM). */
  readonly memoryLimit?: string
  readonly threads?: number
}

export interface DuckDb {
  run(sql: string): Promise<void>
  /** Rows as plain JSON-safe objects (decimals and dates as strings). */
  all<Row = Record<string, unknown>>(sql: string): Promise<Row[]>
  close(): void
}

export async function openDuckDb(options: DuckDbOptions): Promise<DuckDb> {
  // Loaded on first use: the native module costs start-up time that extract never needs.
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const instance = await DuckDBInstance.create(':memory:')
  const connection: DuckDBConnection = await instance.connect()
  const db: DuckDb = {
    async run(sql) {
      await connection.run(sql)
    },
    async all<Row>(sql: string) {
      const reader = await connection.runAndReadAll(sql)
      return reader.getRowObjectsJson() as Row[]
    },
    close() {
      connection.closeSync()
      instance.closeSync()
    },
  }
  await db.run(`SET temp_directory = ${quoteLiteral(options.scratchDir)}`)
  if (options.memoryLimit) await db.run(`SET memory_limit = ${quoteLiteral(options.memoryLimit)}`)
  if (options.threads) await db.run(`SET threads = ${Number(options.threads)}`)
  return db
}
