/**
 * The source contract: what extract needs from an operational database.
 * Stage code depends on this alone (PostgreSQL implements it in
 * source/postgres/), as the load depends on `Warehouse`.
 *
 * A run reads through one snapshot: every table as of the same instant, so
 * rows that reference each other arrive together.
 */
import type { Readable } from 'node:stream'
import type { ManifestColumn } from '../lake/manifest.js'
import type { WatermarkRange } from '../schema/watermark.js'

export interface Source {
  /** Where the source is, password-free, for messages. */
  readonly describe: string
  /**
   * Opens a read-only snapshot. Open transactions are read before it is
   * taken (see OpenTransactions), so a commit in between is visible to the
   * snapshot instead of slipping past both; so is the activity of `watch`.
   */
  openSnapshot(options?: { readonly watch?: readonly string[] }): Promise<SourceSnapshot>
}

/**
 * The source's change counters for the watched tables, read before the
 * snapshot. Two equal marks, the later one read while `quiet`, prove that
 * no row of those tables was written between them (PostgreSQL: see
 * source/postgres/postgres-activity.ts); anything else proves nothing.
 */
export interface SourceActivity {
  /** Opaque; compared for equality only. */
  readonly mark: string
  /** Every other session of the source has been idle long enough for its counts to be in the mark. */
  readonly quiet: boolean
}

/** The oldest transaction open in the source database when the snapshot was opened. */
export interface OpenTransactions {
  /** Just below the oldest open transaction's start (`YYYY-MM-DD HH24:MI:SS.MS`), or null when none is open. */
  readonly bound: string | null
  /** How long the oldest one has been open, in ms. */
  readonly oldestAgeMs?: number
  /**
   * False when this user cannot see other users' sessions: their open
   * transactions are then invisible, and only the lag protects rows they
   * commit later.
   */
  readonly seesAllSessions: boolean
}

export interface WatermarkedTable {
  readonly name: string
  readonly watermarkColumn: string
}

export interface WindowEnd {
  /** Inclusive upper bound for this run, `YYYY-MM-DD HH24:MI:SS.MS`, or null for an empty source. */
  readonly to: string | null
  /** True when `to` is the newest value present: no row of the snapshot lies above it. */
  readonly caughtUp?: boolean
  /** Set when an open transaction held the window back: its age in ms. */
  readonly heldBackByTransactionMs?: number
  /** Tables with rows stamped later than the source's clock (or at infinity): they wait until their time comes. */
  readonly stampedInFuture?: readonly { readonly table: string; readonly rows: number }[]
}

/** A COPY of rows as CSV with a header line; `rowCount` is known once the stream has ended. */
export type CsvStream = Readable & { readonly rowCount: number }

export interface RowHash {
  readonly key: string
  readonly md5: string
  /** The row's watermark is at or below the settled bound (so a changed hash is a silent edit). */
  readonly settled: boolean
}

/** A table as the late-row check reads it: an integer key and the watermark column. */
export interface KeyedTable {
  readonly name: string
  readonly primaryKey: string
  readonly watermarkColumn: string
}

/** One id range (`range * width <= key < (range + 1) * width`): rows at or below a watermark bound and an order-free hash of their (key, watermark). */
export interface IdRangeSummary {
  readonly range: number
  readonly rows: number
  /** Sum of 64-bit row hashes, as decimal text (exact, order-free). */
  readonly hash: string
}

/** A published run's upper watermark bound and the snapshot mark it read in. */
export interface WindowMark {
  readonly upTo: string
  readonly mark: string
}

/** Rows a late-row query found, and how many it had to read to find them. */
export interface LateKeys {
  readonly keys: readonly string[]
  readonly rowsRead: number
}

/** Late-row candidates in changed id ranges, per range with their count and hash sum (comparable with the summaries). */
export interface LateInRanges extends LateKeys {
  readonly ranges: readonly (IdRangeSummary & { readonly keys: readonly string[] })[]
  /**
   * True when the source places every version's writer exactly. False (a
   * PostgreSQL that has used more than 2^32 transaction ids) when an old
   * version could be mistaken for a new one: only candidates the summaries
   * confirm may then be taken.
   */
  readonly exact: boolean
}

export interface SourceSnapshot {
  readonly openTransactions: OpenTransactions
  /** The watched tables' activity before the snapshot; undefined when the source cannot tell. */
  readonly activity?: SourceActivity
  /** Column names and types of each table, in table order; refuses when a table is missing. */
  columns(tables: readonly string[]): Promise<Map<string, ManifestColumn[]>>
  /**
   * The newest watermark value this run may take, chosen so that no row can
   * later appear at or below it: at most the newest value present, at most
   * the source's clock minus `lagMs`, and below the start of any open
   * transaction.
   */
  windowEnd(tables: readonly WatermarkedTable[], lagMs: number): Promise<WindowEnd>
  /** How many `copyRange` streams may be open at once (default 1: one after another). */
  readonly copyConcurrency?: number
  /** Rows with `range.from < watermark <= range.to`, plus rows whose key is in `extraKeys`, as CSV. */
  copyRange(table: string, columns: readonly string[], range: WatermarkRange, extra?: { readonly keyColumn: string; readonly keys: readonly string[] }): CsvStream
  /** How many rows `copyRange` would return without extra keys (for `--dry-run`). */
  countRange(table: string, range: WatermarkRange): Promise<number>
  /** A hash of every row of `table`, in key order. */
  hashRows(table: { readonly name: string; readonly primaryKey: string; readonly watermarkColumn: string; readonly columns: readonly string[] }, settledUpTo: string | null): Promise<RowHash[]>
  /**
   * Opaque text naming the row versions this snapshot sees (PostgreSQL:
   * `pg_current_snapshot()`); recorded with each run, so a later run can
   * tell the versions committed after it.
   */
  snapshotMark(): Promise<string>
  /** Whether `mark` comes from this source's history, so versions can be told by it (false after a restore into another database). */
  canTellVersions(mark: string): Promise<boolean>
  /**
   * Per id range of `width` keys, the summary of rows with watermark at or
   * below `compareUpTo` (to compare with a stored summary) and at or below
   * `keepUpTo` (to store), in one pass over the table.
   */
  summarizeRanges(table: KeyedTable, width: number, bounds: { readonly compareUpTo: string | null; readonly keepUpTo: string }): Promise<{ readonly compared: IdRangeSummary[]; readonly kept: IdRangeSummary[] }>
  /** Keys in the given id ranges with watermark at or below `upTo` whose version the snapshot `mark` did not see. */
  lateInRanges(table: KeyedTable, width: number, ranges: readonly number[], upTo: string, mark: string): Promise<LateInRanges>
  /**
   * Keys with `after < watermark <= marks.at(-1).upTo` whose version the
   * run that covered their watermark (the first mark whose `upTo` is at or
   * above it) did not see.
   */
  lateInWindows(table: KeyedTable, after: string, marks: readonly WindowMark[]): Promise<LateKeys>
  /** Ends the snapshot and releases its connection. */
  close(): Promise<void>
}
