/**
 * The Redshift session over the PostgreSQL wire protocol (`pg`): a small
 * pool, TLS on, every value read back as text (Redshift's numeric and
 * bigint stay exact, as through the Data API). The password comes from
 * PGPASSWORD, read by `pg` itself; it is never in the URL we log.
 */
import pg from 'pg'
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { describeRedshiftUrl } from './redshift-config.js'
import { isRetryableRedshiftError, RedshiftStatementError, unreachableError } from './redshift-errors.js'
import { toPositional, type RedshiftSession, type Statement, type StatementResult, type TextRow } from './redshift-session.js'

/** Every column as the server's text: no float for numeric, no truncated bigint, no local-time Date. */
const AS_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig

export interface WireSessionOptions {
  /** `postgres://user@host:5439/db` (redshift-config turns `redshift://` into this). */
  readonly url: string
  readonly ssl: boolean
  /** The URL as the user wrote it, for messages. */
  readonly displayUrl?: string
  readonly setting?: string
}

export class RedshiftWireSession implements RedshiftSession {
  readonly describe: string
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #setting: string | undefined

  constructor(options: WireSessionOptions | { readonly pool: pg.Pool; readonly describe?: string }) {
    if ('pool' in options) {
      this.#pool = options.pool
      this.#ownsPool = false
      this.describe = options.describe ?? 'the Redshift warehouse'
      this.#setting = undefined
    } else {
      this.#pool = new pg.Pool({
        connectionString: options.url,
        ssl: options.ssl ? { rejectUnauthorized: true } : false,
        max: 2,
        application_name: 'starline',
        connectionTimeoutMillis: 15_000,
      })
      // An idle client's error (a cluster restart) must not crash the process.
      this.#pool.on('error', () => {})
      this.#ownsPool = true
      this.describe = `the Redshift warehouse ${describeRedshiftUrl(options.displayUrl ?? options.url)}`
      this.#setting = options.setting
    }
  }

  async query(statement: Statement): Promise<StatementResult> {
    return this.#withClient((client) => run(client, statement))
  }

  async transaction(statements: readonly Statement[]): Promise<readonly StatementResult[]> {
    return this.#withClient((client) =>
      inTransaction(client, async () => {
        const results: StatementResult[] = []
        for (const statement of statements) results.push(await run(client, statement))
        return results
      }),
    )
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end()
  }

  async #withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw unreachableError(error, { describe: this.describe, ...(this.#setting ? { setting: this.#setting } : {}) })
    }
    try {
      return await work(client)
    } catch (error) {
      throw statementError(error)
    } finally {
      client.release()
    }
  }
}

/**
 * A driver error as the Data API session raises it: a RedshiftStatementError
 * with Redshift's message, retryable by the engine's one classifier (a
 * serialization conflict 1023 or a dropped connection may succeed again).
 */
function statementError(error: unknown): StarlineError {
  if (error instanceof StarlineError) return error
  return new RedshiftStatementError(messageOf(error), { cause: error, retryable: isRetryableRedshiftError(error) })
}

async function run(client: pg.ClientBase, statement: Statement): Promise<StatementResult> {
  const { text, values } = toPositional(statement)
  const result = await client.query<TextRow>({ text, values, types: AS_TEXT })
  return { rows: result.rows ?? [], rowCount: result.rowCount ?? 0 }
}
