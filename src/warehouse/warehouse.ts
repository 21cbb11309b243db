/**
 * The warehouse contract every engine implements (PostgreSQL now; Redshift
 * and DuckDB behind the same interface). Stage code depends on this alone.
 */
import type { ManifestColumn } from '../lake/manifest.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { LoadedTable } from '../schema/summaries.js'
import type { TableSpec } from '../schema/table-spec.js'

export interface WarehouseCapabilities {
  /**
   * The engine reads files straight from the object store (Redshift's
   * `COPY ... FROM 's3://...'`). Default false: the client streams them.
   */
  readonly copyFromObjectStore: boolean
  /** Foreign keys are enforced, not just declared. Default true. */
  readonly enforcesForeignKeys: boolean
}

export const DEFAULT_CAPABILITIES: WarehouseCapabilities = Object.freeze({
  copyFromObjectStore: false,
  enforcesForeignKeys: true,
})

export interface LoadTable {
  readonly spec: TableSpec
  /** Rows the processed manifest says the file holds. */
  readonly rows: number
  /** The object's key in the processed zone. */
  readonly key: string
  /** The object's URL (`file:///...`, `s3://bucket/...`), for engines that read the store themselves. */
  readonly objectUrl: string
  /**
   * A local Parquet file with the table's rows, for engines that stream
   * (absent when the engine has `copyFromObjectStore`).
   */
  readonly path?: string
  /**
   * The file's columns as the processed manifest records them, for engines
   * that map file columns by position (Redshift's Parquet COPY).
   */
  readonly columns?: readonly ManifestColumn[]
  /** The object's size in bytes, as its manifest records it (a Redshift COPY manifest must state it). */
  readonly bytes?: number
  /** The object's SHA-256, as its manifest records it. */
  readonly sha256?: string
  /**
   * Facts: the run may bring versions the warehouse already holds (late rows
   * re-read); they are skipped rather than refused. Absent: strict.
   */
  readonly repeatsVersions?: boolean
  /** Facts: the order the file's rows lie in, as the processed manifest records it (see ManifestTable.orderedBy). */
  readonly orderedBy?: readonly string[]
}

export interface LoadPlan {
  readonly schema: string
  readonly dataset: string
  readonly runId: string
  readonly manifestSha256: string
  /** In load order: every table after the tables it references. */
  readonly tables: readonly LoadTable[]
  /** Every fact table of the dataset: those not in `tables` may still have held rows to release. */
  readonly facts: readonly TableSpec[]
  /**
   * The processed zone, for engines with `copyFromObjectStore`: they write
   * what their COPY needs (Redshift's COPY manifest) under a reserved prefix.
   */
  readonly store?: ObjectStore
  /**
   * Told as each table of the run is done (before the run commits), for a
   * progress line. Optional for engines: without it progress moves per run.
   */
  readonly onTableLoaded?: (table: LoadedTable) => void
  /**
   * Told at the steps of a load that has some besides its tables (a
   * PostgreSQL first load: `side schema created`, `swapping the side schema
   * in`), for debug lines. Optional for engines.
   */
  readonly onStep?: (step: string) => void
  /**
   * How long to wait for another load of the schema to finish before failing
   * retryably. Default the engine's (PostgreSQL: 30 s); a Lambda invocation
   * gives its remaining time less a margin, so it waits out a long load
   * instead of failing behind it.
   */
  readonly lockWaitMs?: number
}

export interface LoadResult {
  readonly runId: string
  /** `already-loaded`: the ledger had the run, nothing was changed. */
  readonly status: 'loaded' | 'already-loaded'
  readonly tables: readonly LoadedTable[]
}

/** A row of the load ledger (`_starline_loads`): the warehouse says what it holds. */
export interface LedgerRow {
  readonly runId: string
  readonly dataset: string
  readonly manifestSha256: string
  readonly rows: number
  readonly status: string
  readonly loadedAt: Date
}

/** Which ledger rows to read: `from` a run (inclusive), or only the `newest`. */
export interface LedgerRange {
  readonly from?: string
  readonly newest?: boolean
}

/** `select` (the ledger's rows) narrowed to `range`, in run order; `$1` binds `from` (PostgreSQL and DuckDB). */
export function ledgerRangeQuery(select: string, range: LedgerRange): { readonly sql: string; readonly params: string[] } {
  if (range.newest) return { sql: `${select} ORDER BY run_id DESC LIMIT 1`, params: [] }
  if (range.from === undefined) return { sql: `${select} ORDER BY run_id`, params: [] }
  return { sql: `${select} WHERE run_id >= $1 ORDER BY run_id`, params: [range.from] }
}

/** A row of `_starline_load_tables`: what one load did to one table. */
export interface LedgerTableRow {
  readonly runId: string
  readonly table: string
  readonly rows: number
  readonly inserted: number
  readonly updated: number
  /** Facts: rows waiting after this load for a dimension row. */
  readonly held: number
  readonly loadedAt: Date
}

/** Facts waiting now in a fact's held table. */
export interface HeldRows {
  readonly table: string
  readonly rows: number
  /** The run that brought the longest-waiting row. */
  readonly oldestRunId: string
}

/** What `starline status` reads from the warehouse: its ledger and its held tables, nothing else. */
export interface LedgerDetail {
  readonly tables: readonly LedgerTableRow[]
  readonly held: readonly HeldRows[]
}

export interface Warehouse {
  readonly capabilities: WarehouseCapabilities
  /**
   * Creates the schema, the tables and the ledger if missing; checks existing
   * tables have the columns. `options.lockWaitMs` as LoadPlan's (engines
   * without a schema lock ignore it).
   */
  ensureTables(schema: string, tables: readonly TableSpec[], options?: { readonly lockWaitMs?: number }): Promise<void>
  /** Loads one processed run and its ledger row in one transaction, unless the ledger already has it. */
  loadRun(plan: LoadPlan): Promise<LoadResult>
  /**
   * The ledger's runs, oldest first: every one, or with `range.from` only
   * that run and later ones (a range on the ledger's key, so a caller that
   * knows a run pays only for what came since). Empty when the ledger does
   * not exist yet.
   */
  loadedRuns(schema: string, range?: LedgerRange): Promise<readonly LedgerRow[]>
  /**
   * The newest loaded run (the highest run id), or undefined when nothing was
   * loaded: one row however long the ledger, which is all a load, a cycle and
   * the loader Lambda need to know where to list the processed zone from.
   */
  newestLoadedRun(schema: string): Promise<LedgerRow | undefined>
  /**
   * The ledger per table and the facts held now, for `starline status` and
   * the alerts. Optional: without it, status shows loaded runs only. With
   * `range.from`, only the per-table rows of that run and later ones.
   */
  ledgerDetail?(schema: string, facts: readonly TableSpec[], range?: Pick<LedgerRange, 'from'>): Promise<LedgerDetail>
  /**
   * Compares the warehouse with what its ledger vouches for (tables, views,
   * held tables and their keys present; row counts, newest record ids, held
   * counts as the ledger recorded them) without writing anything. Empty when
   * they agree. Costs one count(*) per table (see docs/warehouse-drift.md).
   */
  checkAgainstLedger(schema: string, tables: readonly TableSpec[]): Promise<readonly DriftFinding[]>
  /**
   * `starline rebuild`'s last step: replaces the starline tables, views and
   * ledger of `target` with those of `build` (a schema the lake was just
   * loaded into) in one transaction, and drops `build`. A failure or a kill
   * before the commit leaves `target` as it was. Optional: an engine without
   * it cannot rebuild.
   */
  replaceSchema?(build: string, target: string, tables: readonly TableSpec[]): Promise<void>
  /** Drops a schema left by a rebuild that did not finish (nothing if it does not exist). */
  dropSchema?(schema: string): Promise<void>
  /**
   * Takes the load lock of `schema` (the one each `loadRun` holds) and keeps
   * it until `release`, across calls: `starline rebuild` holds it from its
   * first step to its swap, so no load and no other rebuild interleaves.
   * Waits at most `waitMs` (default the engine's), then fails retryably.
   * Optional: without it, a rebuild relies on the swap's own check.
   */
  lockSchema?(schema: string, options?: { readonly waitMs?: number }): Promise<SchemaLock>
  close(): Promise<void>
}

/** A schema's load lock held across calls (Warehouse.lockSchema). */
export interface SchemaLock {
  /**
   * Warehouse.replaceSchema under this lock. When the answer to its COMMIT
   * is lost (the connection dropped after COMMIT was sent), it reconnects
   * and checks whether the swap took effect: resolves with `answerLost`
   * when it did, fails retryably when it did not or cannot tell.
   */
  replaceSchema(build: string, tables: readonly TableSpec[]): Promise<{ readonly answerLost: boolean }>
  /** Lets the lock go (also when the connection holding it is already gone). */
  release(): Promise<void>
}

/** One way a warehouse differs from what its ledger vouches for. */
export interface DriftFinding {
  /** The table (or view, held table, ledger) that differs. */
  readonly table: string
  /** What differs, as a clause: `is missing`, `holds 90 rows; the ledger vouches for 100`. */
  readonly problem: string
}

export const LEDGER_TABLE = '_starline_loads'
export const LEDGER_TABLES_TABLE = '_starline_load_tables'
