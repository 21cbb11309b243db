/**
 * Several connections reading one snapshot, so that tables copy side by side
 * (as `pg_dump --jobs` does): the first connection exports its snapshot with
 * `pg_export_snapshot()`, and every other one adopts it with `SET
 * TRANSACTION SNAPSHOT` before reading anything. All of them see exactly the
 * rows the first one sees; the export lives as long as the first
 * connection's transaction.
 *
 * Why: a single `COPY ... TO STDOUT` is bound by one server process
 * formatting rows (one core); psql's `\copy` is the same. A second
 * connection puts the server's second core to work.
 */
import type pg from 'pg'
import { quoteLiteral } from '../../sql/quote.js'

/** Opens a connection with the session settings of the first one (time zone pinned). */
export type LaneConnector = () => Promise<pg.Client>

/** The connections of a snapshot: lane 0 is the exporting one, the others open on first use. */
export class SnapshotLanes {
  readonly #main: pg.Client
  readonly #snapshotId: string | undefined
  readonly #connect: LaneConnector
  readonly #extra = new Map<number, Promise<pg.Client>>()
  readonly #busy = new Set<number>()
  #degraded = false
  /** How many copies may run at once: 1 when the snapshot could not be exported. */
  readonly size: number

  constructor(main: pg.Client, snapshotId: string | undefined, connect: LaneConnector, size: number) {
    this.#main = main
    this.#snapshotId = snapshotId
    this.#connect = connect
    this.size = snapshotId === undefined ? 1 : Math.max(1, Math.trunc(size))
  }

  /**
   * Takes a free lane and resolves its connection; the caller gives the lane
   * back with `release`. Throws when every lane is busy (the caller runs at
   * most `size` copies at once).
   */
  take(): { readonly lane: number; readonly client: Promise<pg.Client> } {
    for (let lane = 0; lane < this.size; lane++) {
      if (this.#busy.has(lane)) continue
      this.#busy.add(lane)
      return { lane, client: lane === 0 ? Promise.resolve(this.#main) : this.#open(lane) }
    }
    throw new Error(`All ${this.size} snapshot connections are busy: run at most ${this.size} copies at once.`)
  }

  release(lane: number): void {
    this.#busy.delete(lane)
  }

  /** Ends the extra connections' transactions (read only: nothing to keep) and closes them. */
  async close(): Promise<void> {
    const extra = [...this.#extra.values()]
    this.#extra.clear()
    await Promise.all(
      extra.map(async (opening) => {
        const client = await opening.catch(() => undefined)
        if (!client || client === this.#main) return
        await client.query('ROLLBACK').catch(() => {})
        await client.end().catch(() => {})
      }),
    )
  }

  /**
   * The lane's connection. Where a second connection cannot be had (a
   * connection limit, a pooler), the copy runs on the first one instead:
   * `pg` queues it behind the copy in flight there, so the run goes on one
   * table after another, as it would with one connection.
   */
  #open(lane: number): Promise<pg.Client> {
    if (this.#degraded) return Promise.resolve(this.#main)
    let opening = this.#extra.get(lane)
    if (opening === undefined) {
      opening = this.#adopt().catch(() => {
        this.#degraded = true
        this.#extra.delete(lane)
        return this.#main
      })
      this.#extra.set(lane, opening)
    }
    return opening
  }

  async #adopt(): Promise<pg.Client> {
    const client = await this.#connect()
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      // SET TRANSACTION SNAPSHOT takes no bind parameter; the id is the server's own.
      await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(this.#snapshotId!)}`)
      return client
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
  }
}

/**
 * Exports the snapshot of the transaction `client` has just begun, or
 * undefined where the server refuses (a pooler in transaction mode, an old
 * server): then the run copies on one connection. A refusal aborts the
 * transaction, so it is begun again; that is still after the open
 * transactions were read, which is all the window needs.
 */
export async function exportSnapshot(client: pg.ClientBase, begin: () => Promise<void>): Promise<string | undefined> {
  try {
    const result = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')
    return result.rows[0]?.id
  } catch {
    await client.query('ROLLBACK')
    await begin()
    return undefined
  }
}
