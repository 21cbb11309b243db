/**
 * `starline rebuild`'s hold on the target schema's load lock on PostgreSQL.
 *
 * A load takes `pg_advisory_xact_lock` on the schema's key for its
 * transaction; the rebuild takes the session-level `pg_advisory_lock` on the
 * same key on a connection of its own, from its first step to the swap, so
 * a load (or another rebuild) waits for it, within its bound, instead of
 * interleaving. The swap runs on that same connection (advisory locks are
 * re-entrant within a session).
 *
 * The swap's COMMIT can be sent and its answer lost (the connection drops
 * in between): the swap may or may not have taken effect. The build's
 * ledger is fingerprinted before the swap (run ids, manifest hashes and
 * `loaded_at` to the microsecond: unique to this build), and after
 * reconnecting the outcome is read back: the build schema gone and the
 * target carrying that fingerprint means it took effect; the build intact
 * and the target without it means it did not (and it is tried once more).
 */
import type pg from 'pg'
import { isRetryablePostgresError, sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import type { TableSpec } from '../../schema/table-spec.js'
import { qualify } from '../../sql/quote.js'
import { WarehouseError } from '../errors.js'
import { LEDGER_TABLE, type SchemaLock } from '../warehouse.js'
import { unreachableError, warehouseError, type ErrorPlace } from './postgres-errors.js'
import { swapInBuild } from './postgres-rebuild.js'

const LOCK_KEY = "hashtextextended('starline:' || $1, 0)"

export type SwapOutcome = 'swapped' | 'not-swapped' | 'unknown'

/** Takes the session-level load lock of `target`, waiting at most `waitMs`. */
export async function holdSchemaLock(pool: pg.Pool, target: string, place: ErrorPlace, waitMs: number): Promise<SchemaLock> {
  const session = await Session.open(pool, place)
  try {
    await session.client.query(`SET lock_timeout = ${Math.max(1, Math.trunc(waitMs))}`)
    await session.client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`, [target])
    await session.client.query('SET lock_timeout = DEFAULT')
  } catch (error) {
    session.close(true)
    if (sqlStateOf(error) !== '55P03') throw warehouseError(error, place)
    throw lockHeldError(target, place, waitMs, error)
  }
  return new PostgresSchemaLock(pool, target, place, waitMs, session)
}

function lockHeldError(target: string, place: ErrorPlace, waitMs: number, cause: unknown): WarehouseError {
  return new WarehouseError(
    `Another session has held the load lock of schema "${target}" in ${place.describe} for ${waitMs / 1000} s: another starline load or rebuild is running, ` +
      "or a session holding pg_advisory_lock on it was left open. Wait for it and run again (see pg_locks where locktype = 'advisory').",
    { cause, retryable: true },
  )
}

/** A pooled connection, watched: a connection lost mid-statement must not crash the process, and must not be reused. */
class Session {
  broken = false
  readonly #onError = (): void => {
    this.broken = true
  }

  private constructor(readonly client: pg.PoolClient) {
    client.on('error', this.#onError)
  }

  static async open(pool: pg.Pool, place: ErrorPlace): Promise<Session> {
    try {
      return new Session(await pool.connect())
    } catch (error) {
      throw unreachableError(error, place)
    }
  }

  close(destroy = this.broken): void {
    this.client.off('error', this.#onError)
    // Destroyed, not returned: a returned connection would keep the session lock for its next user.
    this.client.release(destroy ? true : undefined)
  }
}

/** A connection that failed, not a statement that was refused: a COMMIT sent on it may have landed. */
function connectionLost(error: unknown): boolean {
  const state = sqlStateOf(error)
  if (state === undefined) return isRetryablePostgresError(error)
  return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03'
}

class PostgresSchemaLock implements SchemaLock {
  #session: Session | undefined

  constructor(
    private readonly pool: pg.Pool,
    private readonly target: string,
    private readonly place: ErrorPlace,
    private readonly waitMs: number,
    session: Session,
  ) {
    this.#session = session
  }

  async replaceSchema(build: string, tables: readonly TableSpec[]): Promise<{ readonly answerLost: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#live()
      const { client } = session
      let fingerprint: string | undefined
      let commitSent = false
      try {
        await client.query('BEGIN')
        // Held already when this is the lock's own session; taken afresh after a lost connection let it go.
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(this.waitMs))}`)
        await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`, [this.target])
        // The wait bounds the lock only: the swap waits for readers of the live tables as long as they read
        // (as a load does), rather than throw a finished build away with advice about another starline.
        await client.query('SET LOCAL lock_timeout = DEFAULT')
        fingerprint = await ledgerFingerprint(client, build)
        await swapInBuild(client, build, this.target, tables)
        commitSent = true
        await client.query('COMMIT')
        return { answerLost: false }
      } catch (error) {
        if (!connectionLost(error)) {
          await client.query('ROLLBACK').catch(() => undefined)
          if (sqlStateOf(error) === '55P03') throw lockHeldError(this.target, this.place, this.waitMs, error)
          throw warehouseError(error, this.place)
        }
        session.broken = true
        // Lost before COMMIT was sent: rolled back for sure. Lost after: read back what happened.
        const outcome = commitSent && fingerprint !== undefined ? await this.#outcome(build, fingerprint) : 'not-swapped'
        if (outcome === 'swapped') return { answerLost: true }
        if (outcome === 'not-swapped' && attempt === 0) continue
        throw outcomeError(this.target, outcome, error)
      }
    }
  }

  async release(): Promise<void> {
    const session = this.#session
    this.#session = undefined
    if (session === undefined) return
    if (!session.broken) await session.client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [this.target]).catch(() => (session.broken = true))
    session.close()
  }

  /** The lock's session, or a new one when its connection was lost (the lock went with it; the swap takes it again). */
  async #live(): Promise<Session> {
    if (this.#session !== undefined && !this.#session.broken) return this.#session
    this.#session?.close(true)
    this.#session = await Session.open(this.pool, this.place)
    return this.#session
  }

  async #outcome(build: string, fingerprint: string): Promise<SwapOutcome> {
    let session: Session | undefined
    try {
      session = await Session.open(this.pool, this.place)
      return await swapOutcome(session.client, build, this.target, fingerprint)
    } catch {
      return 'unknown'
    } finally {
      session?.close()
    }
  }
}

function outcomeError(target: string, outcome: SwapOutcome, cause: unknown): WarehouseError {
  const message =
    outcome === 'not-swapped'
      ? `The connection to the warehouse was lost during the swap into schema "${target}", twice; nothing was swapped. Run \`starline rebuild\` again.`
      : `The connection to the warehouse was lost after the swap into schema "${target}" was sent, and whether it took effect cannot be told. ` +
        'Run `starline rebuild` again: it finishes the job either way.'
  return new WarehouseError(message, { cause, retryable: true })
}

/** The build's ledger in one string: run ids, manifest hashes and load times to the microsecond. Undefined without a ledger. */
export async function ledgerFingerprint(client: pg.ClientBase, schema: string): Promise<string | undefined> {
  const present = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualify(schema, LEDGER_TABLE)])
  if (!present.rows[0]?.t) return undefined
  const result = await client.query<{ f: string }>(
    `SELECT coalesce(string_agg(run_id || ' ' || manifest_sha256 || ' ' || to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), ',' ORDER BY run_id), '') AS f
       FROM ${qualify(schema, LEDGER_TABLE)}`,
  )
  return result.rows[0]!.f
}

/** Whether a swap of `build` into `target`, whose build ledger had `fingerprint`, took effect. */
export async function swapOutcome(client: pg.ClientBase, build: string, target: string, fingerprint: string): Promise<SwapOutcome> {
  const exists = await client.query<{ e: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS e', [build])
  const buildPresent = exists.rows[0]?.e === true
  const live = await ledgerFingerprint(client, target)
  if (!buildPresent && live === fingerprint) return 'swapped'
  if (buildPresent && live !== fingerprint && (await ledgerFingerprint(client, build)) === fingerprint) return 'not-swapped'
  return 'unknown'
}
