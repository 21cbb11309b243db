/**
 * The compacted history a transform needs, carried in every processed
 * manifest, so a transform reads only the pending runs plus one state and
 * its cost does not grow with the number of earlier runs.
 *
 * For each source table whose `current_` view a model reads, the state holds
 * an optional snapshot (a Parquet object in the processed zone with the
 * table's current rows, typed and validated, as of one run) plus the
 * ingestion objects of the runs after it. Every COMPACT_AFTER such objects
 * a new snapshot replaces them. Snapshots are immutable lake objects like
 * any other: written with a conditional create, recorded with their SHA-256
 * in the manifest of the run that wrote them, checked when read.
 *
 * The state also anchors the ingestion zone's hash chain: `covers` is the
 * ingestion run it is current as of and that manifest's SHA-256, so the
 * next pending run's link is checked against it without reading any
 * earlier manifest.
 */
import { createHash } from 'node:crypto'
import type { RowCheck } from '../schema/dataset.js'
import type { PublishedObject } from './integrity.js'
import type { ManifestColumn, RunManifest, StoredManifest } from './manifest.js'

/** How many ingestion objects of one table a state carries before it compacts them into a snapshot. */
export const COMPACT_AFTER = 16

/** An object the state refers to: an ingestion CSV, or a snapshot. */
export interface StateFile extends PublishedObject {
  /** The run that wrote it. */
  readonly runId: string
  /** The columns of the source table as the lake knew them when it was written. */
  readonly columns: readonly ManifestColumn[]
}

/** A table's current rows as of `runId`: typed, validated, one row per key. */
export interface StateSnapshot extends StateFile {
  readonly rows: number
  /** What the rows were typed and validated with (see stateSignature): a snapshot is used only under the same. */
  readonly signature: string
}

export interface TableHistory {
  readonly snapshot?: StateSnapshot
  /** Ingestion objects of the runs after the snapshot (all of the table's, without one), oldest first. */
  readonly since: readonly StateFile[]
}

export interface HistoryState {
  /** The ingestion run this state is current as of, and the SHA-256 of its manifest: the chain's anchor. */
  readonly covers: { readonly runId: string; readonly manifestSha256: string }
  /** The newest columns the lake knows of every source table seen so far. */
  readonly columns: Readonly<Record<string, readonly ManifestColumn[]>>
  /** Per table whose history models read. */
  readonly tables: Readonly<Record<string, TableHistory>>
  /**
   * The tables whose history the state follows (the models' reads when it
   * was written). Absent in states written before it: those in `tables`.
   * A table the models start reading after an upgrade is not in it, and its
   * history is then rebuilt from the ingestion manifests, not taken as empty.
   */
  readonly tracked?: readonly string[]
}

/** The tables a state follows the history of. */
export function trackedTables(state: HistoryState): ReadonlySet<string> {
  return new Set(state.tracked ?? Object.keys(state.tables))
}

/** The same columns and the same checks give the same typed, validated rows. */
export function stateSignature(columns: readonly ManifestColumn[], checks: readonly RowCheck[]): string {
  const described = JSON.stringify({ columns: columns.map((c) => [c.name, c.type, c.nullable]), checks: checks.map((c) => [c.reason, c.failsWhen]) })
  return createHash('sha256').update(described).digest('hex')
}

/**
 * The state as of the newest of `manifests` (ingestion manifests, oldest
 * first, from the zone's first run): for old lakes whose processed
 * manifests carry none, and when a snapshot no longer fits the columns.
 */
export function stateFromHistory(manifests: readonly StoredManifest[], withHistory: ReadonlySet<string>): HistoryState | undefined {
  const last = manifests.at(-1)
  if (last === undefined) return undefined
  let state: HistoryState = { covers: { runId: '', manifestSha256: '' }, columns: {}, tables: {} }
  for (const stored of manifests) state = advanceState(state, stored, withHistory)
  return state
}

/** The state after one more ingestion run (before any compaction). */
export function advanceState(state: HistoryState, stored: StoredManifest, withHistory: ReadonlySet<string>): HistoryState {
  const { manifest } = stored
  const columns = { ...state.columns }
  const tables: Record<string, TableHistory> = { ...state.tables }
  for (const table of manifest.tables) {
    columns[table.table] = table.columns
    if (!withHistory.has(table.table)) continue
    const before = tables[table.table] ?? { since: [] }
    tables[table.table] = { ...before, since: [...before.since, fileOf(manifest, table)] }
  }
  return { covers: { runId: manifest.runId, manifestSha256: stored.sha256 }, columns, tables, tracked: [...withHistory].sort() }
}

function fileOf(manifest: RunManifest, table: RunManifest['tables'][number]): StateFile {
  return { key: table.key, bytes: table.bytes, sha256: table.sha256, runId: manifest.runId, columns: table.columns }
}
