/**
 * A run's manifest: what the run wrote, written **last**. It is the commit
 * marker: objects that no manifest lists were never published, and the
 * newest manifest is the zone's state (no side database is needed to resume).
 */
import { createHash } from 'node:crypto'
import { ManifestError } from './errors.js'
import { MANIFEST_PREFIX, manifestKey, runIdOfManifestKey } from './keys.js'
import type { ObjectStore } from './object-store.js'
import type { WatermarkRange } from '../schema/watermark.js'
import { checkManifest } from './integrity.js'
import { newRunId } from '../core/run-id.js'
import type { HistoryState } from './history-state.js'

export const MANIFEST_FORMAT_VERSION = 1

/** A column as the producing engine typed it (`numeric(10,2)`, `DECIMAL(10,2)`...). */
export interface ManifestColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
}

export interface ManifestTable {
  readonly table: string
  readonly key: string
  readonly format: 'csv' | 'parquet'
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
  readonly columns: readonly ManifestColumn[]
  /**
   * Processed fact tables: the run carries late rows, so some of its rows may
   * be versions the warehouse already holds (the load skips those). Absent
   * (older manifests too): every row is new, and a repeat is refused.
   */
  readonly repeatsVersions?: true
  /**
   * Processed fact tables: the file's rows lie in this order (the transform
   * sorted them by the table's append order), so the load numbers them by
   * row position instead of sorting the whole file again. Absent (older
   * manifests too): the load numbers by sorting.
   */
  readonly orderedBy?: readonly string[]
}

/** Rows a transform run set aside because they failed validation (see the model runner). */
export interface QuarantinedTable extends ManifestTable {
  /** The ingestion object the rows came from. */
  readonly sourceKey: string
}

/** The row-hash baseline used to notice rows edited without their watermark moving. */
export interface ReconciliationState {
  /** When the hashes were taken. */
  readonly at: string
  /** Per table, the object holding `key,md5` of every row at that time. */
  readonly hashes: Readonly<Record<string, string>>
  /**
   * The watermark the lake held every row up to when the hashes were taken.
   * A later row at or below it whose hash changed was edited silently; rows
   * above it were taken by a window since.
   */
  readonly settledUpTo?: string | null
}

/** The id range summaries used to notice late rows in the large tables (see source/late-rows.ts). */
export interface LateRowsState {
  /** When they were taken, and by which run. */
  readonly at: string
  readonly runId: string
  /** The lake's watermark then: the summaries cover rows at or below it. */
  readonly settledUpTo: string
  /** The source snapshot they were taken in. */
  readonly sourceSnapshot: string
  /** Keys per id range. */
  readonly rangeWidth: number
  /** Per table, the object holding `range,rows,hash` lines, and its SHA-256 (checked when read). */
  readonly summaries: Readonly<Record<string, { readonly key: string; readonly sha256: string }>>
}

export interface RunManifest {
  readonly formatVersion: number
  readonly runId: string
  readonly stage: 'extract' | 'transform'
  readonly dataset: string
  readonly createdAt: string
  /** Extract runs: the watermark window read from the source. */
  readonly watermark?: WatermarkRange
  /** Transform runs: the ingestion run they were built from. */
  readonly input?: { readonly runId: string; readonly manifestSha256: string }
  readonly tables: readonly ManifestTable[]
  /** Extract runs: every source table's columns at the time (schema drift is measured against it). */
  readonly sourceSchema?: Readonly<Record<string, readonly ManifestColumn[]>>
  /** Extract runs: columns added to the source since the previous run, and accepted changes. */
  readonly schemaChanges?: readonly { readonly table: string; readonly column: string; readonly kind: string; readonly from?: string; readonly to?: string }[]
  /** Extract runs: the latest row-hash baseline (carried forward from earlier runs when not retaken). */
  readonly reconciliation?: ReconciliationState
  /** Extract runs: rows re-extracted because their content changed without their watermark moving. */
  readonly silentEdits?: Readonly<Record<string, number>>
  /** Extract runs: the source snapshot the run read in (opaque), so a later check can tell versions committed after it. */
  readonly sourceSnapshot?: string
  /**
   * Extract runs whose window took every row the source held: the source's change counters before the
   * snapshot (opaque). A later run that finds them unchanged keeps this window end without reading the tables.
   */
  readonly sourceActivity?: string
  /** Extract runs: the latest id range summaries (carried forward from earlier runs when not retaken). */
  readonly lateRows?: LateRowsState
  /** Extract runs: rows extracted because they appeared behind the watermark (late commits, back-dated stamps), per table. */
  readonly lateRowsFound?: Readonly<Record<string, number>>
  /** Transform runs: rows that failed validation, per source table. */
  readonly quarantine?: readonly QuarantinedTable[]
  /** Transform runs: what the next transform needs from history (see history-state.ts); absent in lakes written before it. */
  readonly state?: HistoryState
  /** The zone's manifest before this one (absent for the first run): the links of a hash chain. */
  readonly previous?: { readonly runId: string; readonly sha256: string }
}

export interface StoredManifest {
  readonly manifest: RunManifest
  readonly key: string
  readonly sha256: string
}

/** Publishes a run: its manifest, linked to the zone's previous manifest, written last. */
export async function writeManifest(store: ObjectStore, manifest: RunManifest, previous: StoredManifest | undefined): Promise<StoredManifest> {
  const key = manifestKey(manifest.runId)
  const chained: RunManifest = previous ? { ...manifest, previous: { runId: previous.manifest.runId, sha256: previous.sha256 } } : manifest
  const info = await store.put(key, `${JSON.stringify(chained, null, 2)}\n`)
  return { manifest: chained, key, sha256: info.sha256 }
}

/**
 * Reads a run's manifest and checks it is that run's, of the stage the zone
 * holds when `stage` is given (see checkManifest).
 */
export async function readManifest(store: ObjectStore, runId: string, stage?: RunManifest['stage']): Promise<StoredManifest> {
  const key = manifestKey(runId)
  const bytes = await store.getBytes(key)
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    throw new ManifestError(`Manifest "${key}" in ${store.root} is not valid JSON. It was changed by hand or damaged; restore it from a backup.`, {
      cause: error,
      context: { key },
    })
  }
  const manifest = migrateManifest(parsed, key)
  checkManifest(manifest, key, runId, stage, store.root)
  return { manifest, key, sha256: createHash('sha256').update(bytes).digest('hex') }
}

/**
 * Run ids of the zone's manifests, oldest first: every one, or with `after`
 * only those after that run (a stage that knows a run it has seen lists, and
 * pays for, only what came since).
 */
export async function listRunIds(store: ObjectStore, after?: string): Promise<string[]> {
  const ids: string[] = []
  for await (const info of store.list(MANIFEST_PREFIX, after === undefined ? undefined : { startAfter: manifestKey(after) })) {
    const runId = runIdOfManifestKey(info.key)
    // A store wrapper that drops the option still gives the right answer, only slower.
    if (runId && (after === undefined || runId > after)) ids.push(runId)
  }
  return ids.sort()
}

/**
 * A zone's run ids: all of them, or, given a run known to be published,
 * that run (if the zone still has it) and those after it, so the listing
 * does not grow with history.
 */
export async function listRunIdsFrom(store: ObjectStore, known: string | undefined): Promise<string[]> {
  if (known === undefined) return listRunIds(store)
  const [head, after] = await Promise.all([store.head(manifestKey(known)), listRunIds(store, known)])
  return head === undefined ? after : [known, ...after]
}

/** How far back newestRunId looks before it lists the whole zone: an hour, a day, a week, a month, a year. */
const LOOK_BACK_MS = [3_600_000, 86_400_000, 7 * 86_400_000, 31 * 86_400_000, 366 * 86_400_000] as const

/**
 * The zone's newest run id. Run ids are times, so the newest is found by
 * listing after an hour ago, then a day ago, and so on (a few short
 * listings, S3's StartAfter), not by listing every run; with `known`, by
 * listing from that run.
 */
export async function newestRunId(store: ObjectStore, known?: string): Promise<string | undefined> {
  if (known !== undefined) return (await listRunIdsFrom(store, known)).at(-1)
  const now = Date.now()
  for (const back of LOOK_BACK_MS) {
    const ids = await listRunIds(store, newRunId(new Date(now - back)))
    if (ids.length > 0) return ids.at(-1)
  }
  return (await listRunIds(store)).at(-1)
}

/** The zone's newest manifest; `known`: a run known to be published, listed from (see listRunIdsFrom). */
export async function latestManifest(store: ObjectStore, stage: RunManifest['stage'], known?: string): Promise<StoredManifest | undefined> {
  const last = await newestRunId(store, known)
  return last === undefined ? undefined : readManifest(store, last, stage)
}

/**
 * The one reader of persisted manifests: upgrades older format versions and
 * rejects newer ones, so the rest of the code sees only the current shape.
 */
export function migrateManifest(value: unknown, key: string): RunManifest {
  // A damaged manifest must not be mistaken for a newer format: upgrading starline would not help.
  const damaged = (problem: string) =>
    new ManifestError(`Manifest "${key}" ${problem}: it was changed by hand or damaged. Restore it from a backup.`, { context: { key } })
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw damaged('is not a JSON object')
  const candidate = value as Partial<RunManifest>
  if (candidate.formatVersion === MANIFEST_FORMAT_VERSION) {
    if (typeof candidate.runId !== 'string' || !Array.isArray(candidate.tables)) throw damaged('lacks runId or tables')
    return candidate as RunManifest
  }
  if (!Number.isInteger(candidate.formatVersion) || candidate.formatVersion! < MANIFEST_FORMAT_VERSION) throw damaged(`has no valid formatVersion`)
  throw new ManifestError(
    `Manifest "${key}" has formatVersion ${String(candidate.formatVersion)}, but this starline reads version ${MANIFEST_FORMAT_VERSION}. ` +
      'Upgrade starline to read lakes written by a newer version.',
    { context: { key } },
  )
}
