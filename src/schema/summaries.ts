/**
 * What each stage reports when it finishes (dlt's LoadInfo): plain data,
 * printed by the CLI, logged by the Lambda handlers, never printed by a stage.
 */
import type { SchemaChange } from './schema-change.js'
import type { WatermarkRange } from './watermark.js'

export interface ExtractedTable {
  readonly table: string
  readonly rows: number
  readonly bytes: number
  readonly key: string
}

export interface ReconcileSummary {
  readonly table: string
  readonly rows: number
  readonly silentEdits: number
  readonly deleted: number
}

/** One large table's late-row check: what it compared, read and found. */
export interface LateRowsSummary {
  readonly table: string
  /** Id ranges compared with the summaries kept in the lake (0 on the first check: nothing to compare). */
  readonly ranges: number
  readonly changedRanges: number
  /** Rows read one by one to find the late ones: the changed ranges' and those stamped since the last check. */
  readonly rowsRead: number
  /** Rows that appeared behind the watermark, extracted with this run. */
  readonly lateRows: number
  /** Candidates not extracted: the source could not place their writer exactly and the summaries did not confirm them. */
  readonly unconfirmed: number
}

export interface ExtractSummary {
  readonly stage: 'extract'
  /** The run written, or undefined when nothing changed. */
  readonly runId?: string
  readonly window?: WatermarkRange
  readonly tables: readonly ExtractedTable[]
  readonly rows: number
  /** Source columns added (carried along) or, when accepted, removed or retyped. */
  readonly schemaChanges: readonly SchemaChange[]
  /** Set when this run reconciled small tables by row hash. */
  readonly reconciled?: readonly ReconcileSummary[]
  /** Set when this run checked the large tables for late rows. */
  readonly lateRows?: readonly LateRowsSummary[]
  /** A crashed run whose leftovers were removed first. */
  readonly recoveredRunId?: string
  readonly heldBackByTransactionMs?: number
  /** Rows stamped later than the source's clock (or at infinity), per table: they wait until their time comes. */
  readonly stampedInFuture?: readonly { readonly table: string; readonly rows: number }[]
  /** False when the source user cannot see other users' open transactions (see readOpenTransactions). */
  readonly seesAllSessions: boolean
  readonly durationMs: number
}

export interface TransformedRun {
  readonly runId: string
  readonly tables: readonly { readonly table: string; readonly rows: number }[]
  readonly rows: number
  /** Source rows that failed validation, per source table, and where they were put. */
  readonly quarantined: readonly { readonly table: string; readonly rows: number; readonly key: string }[]
  readonly durationMs: number
}

export interface TransformSummary {
  readonly stage: 'transform'
  readonly runs: readonly TransformedRun[]
  readonly rows: number
  readonly durationMs: number
}

export interface LoadedTable {
  readonly table: string
  readonly rows: number
  /** Dimensions: new keys. Facts: rows appended. */
  readonly inserted: number
  /** Dimensions: keys whose values changed. */
  readonly updated: number
  /** Facts: rows waiting after this run for a dimension row that has not arrived (earlier runs' included). */
  readonly held: number
  /**
   * Facts of a run that may repeat loaded versions (late rows re-read):
   * rows skipped because the warehouse already held their version.
   */
  readonly alreadyHeld?: number
}

export interface LoadedRun {
  readonly runId: string
  readonly tables: readonly LoadedTable[]
  readonly rows: number
  readonly durationMs: number
}

export interface LoadSummary {
  readonly stage: 'load'
  readonly runs: readonly LoadedRun[]
  readonly rows: number
  readonly durationMs: number
}

export interface RunSummary {
  readonly extract: ExtractSummary
  readonly transform: TransformSummary
  readonly load: LoadSummary
  readonly durationMs: number
}
