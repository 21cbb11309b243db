/**
 * What a transform run reads besides its own files: the earlier rows of the
 * tables whose `current_` view a model reads. They come from the history
 * state of the newest processed run (a snapshot plus the few ingestion
 * objects since; see lake/history-state.ts), so a run reads the same amount
 * after ten earlier runs as after ten thousand. A lake written before states
 * existed, or a snapshot whose columns or checks no longer match, is rebuilt
 * once from every ingestion manifest, reading them in order to check their
 * hash chain, as before.
 */
import { createReadStream } from 'node:fs'
import type { Dataset } from '../schema/dataset.js'
import { IntegrityError } from '../lake/errors.js'
import { advanceState, COMPACT_AFTER, stateFromHistory, stateSignature, trackedTables, type HistoryState, type StateFile, type TableHistory } from '../lake/history-state.js'
import { checkHistoryState } from '../lake/history-check.js'
import { checkChain, checkTransformedInput, verifiedLocalPath } from '../lake/integrity.js'
import { stateKey } from '../lake/keys.js'
import { listRunIds, readManifest, type ManifestColumn, type StoredManifest } from '../lake/manifest.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { ModelRunInput, ModelRunOutput, SourceFile } from './model-runner.js'

type HistoryInputs = Pick<ModelRunInput, 'changed' | 'history' | 'columns' | 'snapshots' | 'snapshotTables'>

export class TransformHistory {
  readonly #ingestion: ObjectStore
  readonly #processed: ObjectStore
  readonly #dataset: Dataset
  readonly #withHistory: ReadonlySet<string>
  /** The state as of the newest run committed (or, before any, the newest processed run). */
  #state: HistoryState | undefined
  /** The newest ingestion manifest whose link was checked: the next one must name it. */
  #tip: { readonly runId: string; readonly sha256: string; readonly chained: boolean } | undefined
  /** Every ingestion manifest up to the newest processed run, read only when a rebuild needs them. */
  #earlier: StoredManifest[] | undefined
  #anchorRunId: string | undefined
  /** Checked once the first pending run's link was: the newest processed run and its ingestion manifest as stored now. */
  #anchorCheck: (() => void) | undefined
  /** Run with the anchor check: the state the newest processed run carries, against the manifests that published what it lists. */
  #stateCheck: (() => Promise<void>) | undefined
  readonly #followed: StoredManifest[] = []
  /** Per table, what the run being prepared read, for commit. */
  #prepared = new Map<string, { history: TableHistory; columns: readonly ManifestColumn[] }>()

  readonly #compactAfter: number

  /** `compactAfter`: how many ingestion objects of a table the state carries before a snapshot replaces them. */
  constructor(ingestion: ObjectStore, processed: ObjectStore, dataset: Dataset, withHistory: ReadonlySet<string>, compactAfter = COMPACT_AFTER) {
    this.#compactAfter = compactAfter
    this.#ingestion = ingestion
    this.#processed = processed
    this.#dataset = dataset
    this.#withHistory = withHistory
  }

  /** Starts from the newest processed run (none: from the zone's first ingestion run). */
  async start(previous: StoredManifest | undefined): Promise<void> {
    if (previous === undefined) return
    this.#anchorRunId = previous.manifest.runId
    const state = previous.manifest.state
    if (state === undefined) {
      const earlier = await this.#earlierManifests()
      const anchor = earlier.at(-1)!
      checkTransformedInput(previous, anchor, this.#ingestion.root)
      this.#state = stateFromHistory(earlier, this.#withHistory)
      this.#tip = { runId: anchor.manifest.runId, sha256: anchor.sha256, chained: anchor.manifest.previous !== undefined }
    } else {
      if (state.covers.manifestSha256 !== previous.manifest.input?.manifestSha256) {
        throw new IntegrityError(
          `Processed manifest "${previous.key}" in ${this.#processed.root} carries a history state that is not of the ingestion manifest it was built from. ` +
            'It was edited by hand; restore it from a backup.',
          { context: { key: previous.key } },
        )
      }
      this.#state = await this.#withUntracked(state)
      // The state anchors the chain, but the manifest it covers is read as it is now: one rewritten since is refused.
      const anchor = await readManifest(this.#ingestion, previous.manifest.runId, 'extract')
      this.#tip = { runId: anchor.manifest.runId, sha256: anchor.sha256, chained: anchor.manifest.previous !== undefined }
      this.#anchorCheck = () => checkTransformedInput(previous, anchor, this.#ingestion.root)
      this.#stateCheck = () =>
        checkHistoryState({
          ingestion: this.#ingestion,
          processed: this.#processed,
          newest: previous,
          covered: anchor,
          everyIngestion: () => this.#earlierManifests(),
        })
    }
  }

  /**
   * A table the models read the history of but the state did not follow
   * (the models changed with an upgrade): its whole history, from every
   * ingestion manifest, once. Taken as empty, its `current_` view would hold
   * only rows changed from now on.
   */
  async #withUntracked(state: HistoryState): Promise<HistoryState> {
    const tracked = trackedTables(state)
    const untracked = new Set([...this.#withHistory].filter((table) => !tracked.has(table)))
    if (untracked.size === 0) return state
    const rebuilt = stateFromHistory(await this.#earlierManifests(), untracked)
    return { ...state, tables: { ...state.tables, ...rebuilt?.tables }, tracked: [...new Set([...tracked, ...untracked])].sort() }
  }

  /**
   * Checks the next pending ingestion manifest's link against the one before it (or the state's anchor);
   * with the first, the state the runs start from. Nothing has been written yet.
   */
  async follow(stored: StoredManifest): Promise<StoredManifest> {
    checkChain(stored, this.#tip, this.#ingestion.root)
    this.#anchorCheck?.()
    this.#anchorCheck = undefined
    const stateCheck = this.#stateCheck
    this.#stateCheck = undefined
    await stateCheck?.()
    this.#tip = { runId: stored.manifest.runId, sha256: stored.sha256, chained: stored.manifest.previous !== undefined }
    this.#followed.push(stored)
    return stored
  }

  /** The model runner's inputs for one pending run, every object checked against what recorded it. */
  async inputsFor(input: StoredManifest, scratch: string, verified: Set<string>): Promise<HistoryInputs> {
    const runId = input.manifest.runId
    const next = advanceState(this.#state ?? { covers: { runId: '', manifestSha256: '' }, columns: {}, tables: {} }, input, this.#withHistory)
    const local = async (store: ObjectStore, file: StateFile): Promise<SourceFile> => ({
      key: file.key,
      path: await verifiedLocalPath(store, file, scratch, verified),
      runId: file.runId,
      columns: file.columns,
      sha256: file.sha256,
    })
    const history = new Map<string, SourceFile[]>()
    const snapshots = new Map<string, string>()
    const snapshotTables = new Set<string>()
    this.#prepared = new Map()
    for (const [table, advanced] of Object.entries(next.tables)) {
      let tableHistory: TableHistory = advanced
      const columns = advanced.since.at(-1)?.columns ?? advanced.snapshot?.columns ?? next.columns[table]!
      const signature = stateSignature(columns, this.#dataset.checks[table] ?? [])
      if (advanced.snapshot !== undefined && advanced.snapshot.signature !== signature) {
        // The columns or checks changed since the snapshot was taken: its rows would be typed or validated otherwise.
        tableHistory = { since: (await this.#everyManifestBefore(runId)).flatMap((stored) => filesOf(stored, table)).concat(filesOf(input, table)) }
      }
      const files = []
      for (const file of tableHistory.since) files.push(await local(this.#ingestion, file))
      history.set(table, files)
      if (tableHistory.snapshot !== undefined) snapshots.set(table, (await local(this.#processed, tableHistory.snapshot)).path)
      if (tableHistory.since.length >= this.#compactAfter) snapshotTables.add(table)
      this.#prepared.set(table, { history: tableHistory, columns })
    }
    const changed = new Map<string, SourceFile>()
    for (const table of input.manifest.tables) {
      changed.set(table.table, history.get(table.table)?.at(-1) ?? (await local(this.#ingestion, { ...table, runId })))
    }
    return { changed, history, columns: new Map(Object.entries(next.columns)), snapshots, snapshotTables }
  }

  /** Publishes the run's snapshots and returns the state its manifest carries. */
  async commit(input: StoredManifest, written: ModelRunOutput['snapshots']): Promise<HistoryState> {
    const runId = input.manifest.runId
    const tables: Record<string, TableHistory> = {}
    for (const [table, prepared] of this.#prepared) tables[table] = prepared.history
    for (const snapshot of written) {
      const { columns } = this.#prepared.get(snapshot.table)!
      const key = stateKey(snapshot.table, runId)
      const info = await this.#processed.put(key, createReadStream(snapshot.path))
      const signature = stateSignature(columns, this.#dataset.checks[snapshot.table] ?? [])
      tables[snapshot.table] = { snapshot: { key, bytes: info.size, sha256: info.sha256, runId, columns, rows: snapshot.rows, signature }, since: [] }
    }
    const columns = { ...(this.#state?.columns ?? {}) }
    for (const table of input.manifest.tables) columns[table.table] = table.columns
    this.#state = { covers: { runId, manifestSha256: input.sha256 }, columns, tables, tracked: [...this.#withHistory].sort() }
    return this.#state
  }

  /** Ingestion manifests before `runId`: those up to the newest processed run, then the pending ones followed. */
  async #everyManifestBefore(runId: string): Promise<StoredManifest[]> {
    return [...(await this.#earlierManifests()), ...this.#followed].filter((stored) => stored.manifest.runId < runId)
  }

  /** Every ingestion manifest up to the newest processed run, in order, each link checked. */
  async #earlierManifests(): Promise<StoredManifest[]> {
    if (this.#earlier !== undefined) return this.#earlier
    const anchor = this.#anchorRunId
    const earlier: StoredManifest[] = []
    if (anchor !== undefined) {
      for (const runId of (await listRunIds(this.#ingestion)).filter((id) => id <= anchor)) {
        const stored = await readManifest(this.#ingestion, runId, 'extract')
        const before = earlier.at(-1)
        checkChain(stored, before && { runId: before.manifest.runId, sha256: before.sha256, chained: before.manifest.previous !== undefined }, this.#ingestion.root)
        earlier.push(stored)
      }
    }
    this.#earlier = earlier
    return earlier
  }
}

function filesOf(stored: StoredManifest, table: string): StateFile[] {
  return stored.manifest.tables
    .filter((t) => t.table === table)
    .map((t) => ({ key: t.key, bytes: t.bytes, sha256: t.sha256, runId: stored.manifest.runId, columns: t.columns }))
}
