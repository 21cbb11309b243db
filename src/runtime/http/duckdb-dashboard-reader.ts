/**
 * The dashboard's DuckDB access. The file is opened READ_ONLY for each
 * request and closed after it: DuckDB admits one writing process per file,
 * so holding it open would lock `starline load` out. While a load holds the
 * file, a request fails as retryable and the page tries again on its next
 * refresh.
 */
import { messageOf } from '../../core/starline-error.js'
import { quoteLiteral } from '../../sql/quote.js'
import { DEFAULT_STATEMENT_TIMEOUT_MS, type ChartResult, type ChartRow, type DashboardReader } from './dashboard-reader.js'
import { DashboardQueryError, ReadOnlyViolationError } from './errors.js'

export interface DuckDbDashboardReaderOptions {
  /** The warehouse's database file. */
  readonly path: string
  /** The warehouse schema: unqualified names in the chart queries resolve there. */
  readonly schema: string
  /** DuckDB has no statement timeout: a query running longer is interrupted. */
  readonly statementTimeoutMs?: number
}

export class DuckDbDashboardReader implements DashboardReader {
  readonly engine = 'duckdb' as const
  readonly #options: DuckDbDashboardReaderOptions

  constructor(options: DuckDbDashboardReaderOptions) {
    this.#options = Object.freeze({ ...options })
  }

  async read(sql: string): Promise<ChartResult> {
    // Loaded on first use, like the transform's engine: serve on PostgreSQL never pays for it.
    const { DuckDBInstance } = await import('@duckdb/node-api')
    let instance: Awaited<ReturnType<typeof DuckDBInstance.create>>
    try {
      instance = await DuckDBInstance.create(this.#options.path, { access_mode: 'READ_ONLY' })
    } catch (error) {
      throw new DashboardQueryError(
        `Cannot open the DuckDB warehouse ${this.#options.path} read-only (${messageOf(error)}). If a load is running, the page retries on its next refresh.`,
        { cause: error, retryable: /lock|busy/i.test(messageOf(error)) },
      )
    }
    let connection: Awaited<ReturnType<typeof instance.connect>>
    try {
      connection = await instance.connect()
    } catch (error) {
      instance.closeSync()
      throw mapError(error)
    }
    const timer = setTimeout(() => connection.interrupt(), this.#options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS)
    try {
      await connection.run(`SET search_path = ${quoteLiteral(this.#options.schema)}`)
      // Timestamps read as text the same on every machine, as PostgreSQL's reader does.
      await connection.run("SET TimeZone = 'UTC'")
      const reader = await connection.runAndReadAll(sql)
      const columns = reader.columnNames()
      const rows = reader.getRowObjectsJson().map((row) => {
        const text: Record<string, string | null> = {}
        for (const column of columns) {
          const value = row[column]
          text[column] = value === null || value === undefined ? null : String(value)
        }
        return text as ChartRow
      })
      return { columns, rows }
    } catch (error) {
      throw mapError(error)
    } finally {
      clearTimeout(timer)
      connection.closeSync()
      instance.closeSync()
    }
  }

  async close(): Promise<void> {
    // Nothing is held between requests.
  }
}

function mapError(error: unknown): Error {
  const message = messageOf(error)
  if (/read-only mode|read only/i.test(message)) {
    return new ReadOnlyViolationError('The dashboard refused a write: its DuckDB warehouse is opened read-only. Write with starline load instead.', {
      cause: error,
    })
  }
  if (/interrupt/i.test(message)) {
    return new DashboardQueryError('A dashboard query ran past its time limit and was stopped. The page retries on its next refresh.', {
      cause: error,
      retryable: true,
    })
  }
  return new DashboardQueryError(`The DuckDB warehouse rejected a dashboard query: ${message}.`, { cause: error })
}
