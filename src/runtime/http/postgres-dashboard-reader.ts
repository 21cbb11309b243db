/**
 * The dashboard's PostgreSQL access. Defence in depth against writes: the
 * session starts with `default_transaction_read_only = on`, every request
 * runs in its own `BEGIN READ ONLY` transaction, and a statement timeout
 * stops a slow chart from holding a connection. Grant the dashboard's user
 * SELECT only, and this is a third wall rather than the only one.
 */
import pg from 'pg'
import { isRetryablePostgresError, sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { messageOf } from '../../core/starline-error.js'
import { quoteIdent } from '../../sql/quote.js'
import { DEFAULT_STATEMENT_TIMEOUT_MS, type ChartResult, type ChartRow, type DashboardReader } from './dashboard-reader.js'
import { DashboardQueryError, ReadOnlyViolationError } from './errors.js'

export interface PostgresDashboardReaderOptions {
  /** The warehouse URL (credentials in it or in PGPASSWORD); never shown. */
  readonly url: string
  /** The warehouse schema: unqualified names in the chart queries resolve there. */
  readonly schema: string
  readonly statementTimeoutMs?: number
  /** Connections kept at most; the page asks for a handful of charts at once. */
  readonly maxConnections?: number
}

// Every value as the server's text: numeric, bigint, dates and timestamps stay exact.
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig

const READ_ONLY_SQLSTATE = '25006'
const UNDEFINED_TABLE_SQLSTATE = '42P01'

export class PostgresDashboardReader implements DashboardReader {
  readonly engine = 'postgres' as const
  readonly #pool: pg.Pool
  readonly #searchPath: string

  constructor(options: PostgresDashboardReaderOptions) {
    const timeout = Math.max(1, Math.trunc(options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS))
    this.#searchPath = `SET LOCAL search_path TO ${quoteIdent(options.schema)}`
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 4,
      application_name: 'starline serve',
      options: `-c default_transaction_read_only=on -c statement_timeout=${timeout} -c TimeZone=UTC`,
      types: TEXT_TYPES,
    })
    // An idle connection dropped by the server must not take the process down.
    this.#pool.on('error', () => undefined)
  }

  async read(sql: string): Promise<ChartResult> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw mapError(error)
    }
    try {
      // BEGIN READ ONLY, whatever the session default says.
      const result = await inTransaction(client, async () => {
        await client.query('SET TRANSACTION READ ONLY')
        await client.query(this.#searchPath)
        // The extended protocol takes exactly one statement: no `COMMIT; ...` can leave the transaction.
        return client.query<Record<string, string | null>>({ text: sql, queryMode: 'extended' } as pg.QueryConfig)
      })
      return { columns: result.fields.map((f) => f.name), rows: result.rows as ChartRow[] }
    } catch (error) {
      throw mapError(error)
    } finally {
      client.release()
    }
  }

  async close(): Promise<void> {
    await this.#pool.end()
  }
}

function mapError(error: unknown): Error {
  const state = sqlStateOf(error)
  if (state === READ_ONLY_SQLSTATE) {
    return new ReadOnlyViolationError('The dashboard refused a write: its warehouse connection is read-only. Write with starline load instead.', {
      cause: error,
    })
  }
  if (state === UNDEFINED_TABLE_SQLSTATE) {
    return new DashboardQueryError(`The warehouse lacks a table the dashboard reads (${messageOf(error)}). Run starline load first, or check STARLINE_WAREHOUSE_SCHEMA.`, {
      cause: error,
    })
  }
  const retryable = isRetryablePostgresError(error) || state === '57014'
  return new DashboardQueryError(
    retryable
      ? `The warehouse did not answer (${messageOf(error)}). The page retries on its next refresh.`
      : `The warehouse rejected a dashboard query: ${messageOf(error)}.`,
    { cause: error, retryable },
  )
}
