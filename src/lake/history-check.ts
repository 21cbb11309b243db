/**
 * The history state a transform starts from, checked against the manifests
 * that published what it lists, before anything is read through it. A state
 * is carried from one processed manifest to the next, so an edit to the
 * newest one (a `since` entry dropped, added, pointed at another object, or
 * given the SHA-256 of a swapped file; a snapshot swapped) would otherwise
 * change every later run's dimensions, and be noticed only by the next load.
 *
 * Cheap by construction: it reads the ingestion manifests the `since` lists
 * name (at most COMPACT_AFTER per table, shared between tables), the
 * processed manifest of each snapshot's run, and the processed manifest
 * before the newest (whose state, advanced by one run, is what the newest
 * must hold). Only a state that cannot be derived from its predecessor (the
 * first state of a lake written before states, or a snapshot dropped by a
 * rebuild) is compared with the whole ingestion history, once.
 */
import { isDeepStrictEqual } from 'node:util'
import { advanceState, stateFromHistory, trackedTables, type HistoryState, type StateFile, type StateSnapshot, type TableHistory } from './history-state.js'
import { checkChain, editedManifestError } from './integrity.js'
import { readManifest, type StoredManifest } from './manifest.js'
import type { ObjectStore } from './object-store.js'

export interface HistoryCheck {
  readonly ingestion: ObjectStore
  readonly processed: ObjectStore
  /** The newest processed manifest: the state it carries is checked. */
  readonly newest: StoredManifest
  /** The ingestion manifest it was built from, as stored now. */
  readonly covered: StoredManifest
  /** Every ingestion manifest up to the newest processed run, oldest first, chain checked (read only when needed). */
  readonly everyIngestion: () => Promise<readonly StoredManifest[]>
}

/** Refuses (IntegrityError naming the manifest and the entry) a state its manifests do not vouch for. */
export async function checkHistoryState(check: HistoryCheck): Promise<void> {
  const { newest, covered } = check
  const state = newest.manifest.state
  if (state === undefined) return
  const runId = newest.manifest.runId
  const refuse = (problem: string): never => {
    throw editedManifestError(newest.key, check.processed.root, problem)
  }
  const ingestion = cached((id) => readManifest(check.ingestion, id, 'extract'), [covered])
  const processed = cached((id) => readManifest(check.processed, id, 'transform'), [newest])

  for (const [table, history] of Object.entries(state.tables)) {
    let after = history.snapshot?.runId ?? ''
    for (const file of history.since) {
      if (file.runId <= after) refuse(`lists history object "${file.key}" of "${table}" out of order (not after run ${after})`)
      after = file.runId
      const published = (await ingestion(file.runId)).manifest.tables.find((t) => t.table === table)
      if (published === undefined || !sameFile(file, { ...published, runId: file.runId })) {
        refuse(`lists history object "${file.key}" of "${table}" with a key, size, SHA-256 or columns that ingestion manifest "${(await ingestion(file.runId)).key}" did not publish`)
      }
    }
    const snapshot = history.snapshot
    if (snapshot === undefined || snapshot.runId === runId) continue
    const writer = await processed(snapshot.runId)
    if (!isDeepStrictEqual(writer.manifest.state?.tables[table]?.snapshot, snapshot)) {
      refuse(`lists state snapshot "${snapshot.key}" of "${table}" other than the one processed manifest "${writer.key}" that wrote it recorded (size, SHA-256 or rows)`)
    }
  }

  // What the state must hold: the one before it advanced by this run, or (no usable predecessor) the whole history.
  // Judged by the tables the state says it follows: the models' reads may have changed since (an upgrade).
  const tracked = trackedTables(state)
  let full: HistoryState | undefined
  const fromHistory = async (): Promise<HistoryState> => {
    full ??= stateFromHistory([...(await check.everyIngestion())], tracked) ?? { covers: state.covers, columns: {}, tables: {} }
    return full
  }
  const link = newest.manifest.previous
  const before = link === undefined ? undefined : await processed(link.runId)
  if (before !== undefined) checkChain(newest, { runId: before.manifest.runId, sha256: before.sha256, chained: before.manifest.previous !== undefined }, check.processed.root)
  const expected = before?.manifest.state === undefined ? await fromHistory() : advanceState(before.manifest.state, covered, tracked)
  // Tables this state started to follow (its run rebuilt their history from every ingestion manifest).
  const started = before?.manifest.state === undefined ? new Set<string>() : new Set([...tracked].filter((t) => !trackedTables(before.manifest.state!).has(t)))
  if (!isDeepStrictEqual(state.columns, expected.columns)) refuse('lists source table columns other than its runs published')
  for (const table of new Set([...Object.keys(expected.tables), ...Object.keys(state.tables)])) {
    const actual = state.tables[table]
    const wanted = started.has(table) ? (await fromHistory()).tables[table] : expected.tables[table]
    if (actual === undefined) refuse(`leaves out the history of "${table}"`)
    if (wanted === undefined) refuse(`lists a history of "${table}" that no run up to ${runId} changed`)
    if (actual!.snapshot?.runId === runId) {
      // Compacted by this run: its snapshot holds everything up to it.
      if (actual!.since.length > 0) refuse(`lists history object "${actual!.since[0]!.key}" after the snapshot of "${table}" its own run wrote`)
      continue
    }
    if (sameSnapshot(actual!.snapshot, wanted!.snapshot)) compareSince(table, actual!, wanted!.since, refuse)
    else if (actual!.snapshot === undefined) compareSince(table, actual!, (await fromHistory()).tables[table]?.since ?? [], refuse)
    else refuse(`lists state snapshot "${actual!.snapshot.key}" of "${table}", which the run before it did not carry`)
  }
}

/** The `since` list must be exactly the objects of the runs that changed the table after its snapshot, in order. */
function compareSince(table: string, actual: TableHistory, wanted: readonly StateFile[], refuse: (problem: string) => never): void {
  for (const [index, file] of wanted.entries()) {
    const found = actual.since[index]
    if (found === undefined || found.runId !== file.runId) refuse(`leaves out history object "${file.key}" of "${table}" (run ${file.runId})`)
    if (!sameFile(found!, file)) refuse(`lists history object "${found!.key}" of "${table}" other than the run before it carried`)
  }
  const extra = actual.since[wanted.length]
  if (extra !== undefined) refuse(`lists history object "${extra.key}" of "${table}" that no run after its snapshot added`)
}

function sameFile(a: StateFile, b: StateFile): boolean {
  return a.key === b.key && a.runId === b.runId && a.bytes === b.bytes && a.sha256 === b.sha256 && isDeepStrictEqual(a.columns, b.columns)
}

function sameSnapshot(a: StateSnapshot | undefined, b: StateSnapshot | undefined): boolean {
  return isDeepStrictEqual(a, b)
}

/** Reads each manifest once. */
function cached(read: (runId: string) => Promise<StoredManifest>, known: readonly StoredManifest[]): (runId: string) => Promise<StoredManifest> {
  const seen = new Map<string, Promise<StoredManifest>>(known.map((stored) => [stored.manifest.runId, Promise.resolve(stored)]))
  return (runId) => {
    let found = seen.get(runId)
    if (found === undefined) {
      found = read(runId)
      seen.set(runId, found)
    }
    return found
  }
}
