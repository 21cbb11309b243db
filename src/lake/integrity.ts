/**
 * Reading what a manifest published, and refusing what does not match it.
 * A manifest records each object's size and SHA-256 and the previous
 * manifest of its zone (a hash chain): a truncated or edited object, a
 * manifest of another run or stage, or a manifest removed or rewritten
 * after a later run was published, stops the stage that reads it, naming
 * the object, before anything is written.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { IntegrityError } from './errors.js'
import { dataKey, QUARANTINE_PREFIX, rangeSummaryKey, RECONCILE_PREFIX, stateKey } from './keys.js'
import type { RunManifest, StoredManifest } from './manifest.js'
import type { ObjectStore } from './object-store.js'

/** What a stage reads an object against: its manifest entry. */
export interface PublishedObject {
  readonly key: string
  readonly bytes: number
  readonly sha256: string
}

const REPAIR =
  'Restore it from a backup or a previous version of the bucket. Do not remove runs the warehouse has loaded (its ledger lists them): ' +
  'the lake would then be refused, or extract their rows a second time.'

/** A manifest whose content its own zone's records contradict: `problem` names the entry. */
export function editedManifestError(key: string, root: string, problem: string): IntegrityError {
  return new IntegrityError(`Manifest "${key}" in ${root} ${problem}. It was edited by hand. ${REPAIR}`, { context: { key } })
}

/**
 * A local file with the object's bytes, after checking its size and SHA-256
 * against the manifest. `verified` remembers the files already checked in
 * this stage, so a history file the filesystem store hands out again is
 * hashed once (a store that downloads makes a new file, checked anew).
 */
export async function verifiedLocalPath(store: ObjectStore, object: PublishedObject, scratchDir: string, verified?: Set<string>): Promise<string> {
  const path = await store.localPath(object.key, scratchDir)
  if (verified?.has(path)) return path
  const hash = createHash('sha256')
  let size = 0
  await pipeline(
    createReadStream(path),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        size += chunk.length
        done()
      },
    }),
  )
  const sha256 = hash.digest('hex')
  if (size !== object.bytes || sha256 !== object.sha256) {
    const what = size !== object.bytes ? `${size} bytes where its manifest says ${object.bytes}` : 'bytes whose SHA-256 differs from its manifest'
    throw new IntegrityError(`Object "${object.key}" in ${store.root} holds ${what}: it was changed after it was published. ${REPAIR}`, {
      context: { key: object.key },
    })
  }
  verified?.add(path)
  return path
}

/**
 * A manifest must be the one its key names, of the stage its zone holds,
 * and list only objects of its own run (reconciliation baselines may be
 * carried forward from earlier runs).
 */
export function checkManifest(manifest: RunManifest, key: string, runId: string, stage: RunManifest['stage'] | undefined, root: string): void {
  const refuse = (problem: string): never => {
    throw new IntegrityError(`Manifest "${key}" in ${root} ${problem}. It was copied or edited by hand. ${REPAIR}`, { context: { key } })
  }
  if (manifest.runId !== runId) refuse(`says it is run ${manifest.runId}`)
  if (stage !== undefined && manifest.stage !== stage) refuse(`is a ${manifest.stage} manifest in a zone of ${stage} runs (are the two lake URLs swapped?)`)
  const seen = new Set<string>()
  for (const table of manifest.tables) {
    if (seen.has(table.table)) refuse(`lists table "${table.table}" twice`)
    seen.add(table.table)
    if (table.key !== dataKey(table.table, runId, table.format)) refuse(`lists "${table.key}", which is not run ${runId}'s object for "${table.table}"`)
  }
  for (const bad of manifest.quarantine ?? []) {
    if (bad.key !== `${QUARANTINE_PREFIX}${dataKey(bad.table, runId, 'csv')}`) refuse(`lists quarantine object "${bad.key}" of another run`)
  }
  for (const [table, baseline] of Object.entries(manifest.reconciliation?.hashes ?? {})) {
    const match = new RegExp(`^${RECONCILE_PREFIX}([^/]+)/([0-9TZ]+)\\.csv$`).exec(baseline)
    if (!match || match[1] !== table || match[2]! > runId) refuse(`lists reconciliation baseline "${baseline}" that no run up to ${runId} wrote`)
  }
  const late = manifest.lateRows
  for (const [table, summary] of Object.entries(late?.summaries ?? {})) {
    if (late!.runId > runId || summary.key !== rangeSummaryKey(table, late!.runId)) refuse(`lists id range summaries "${summary.key}" that no run up to ${runId} wrote`)
  }
  const state = manifest.state
  if (state === undefined) return
  if (state.covers.runId !== runId) refuse(`carries a history state of run ${state.covers.runId}`)
  // A state refers to objects of earlier runs (its snapshot, the ingestion objects since), never later ones.
  for (const [table, history] of Object.entries(state.tables)) {
    const snapshot = history.snapshot
    if (snapshot && (snapshot.runId > runId || snapshot.key !== stateKey(table, snapshot.runId))) refuse(`lists state snapshot "${snapshot.key}" that no run up to ${runId} wrote`)
    for (const file of history.since) {
      if (file.runId > runId || file.key !== dataKey(table, file.runId, 'csv')) refuse(`lists history object "${file.key}" that no run up to ${runId} wrote`)
    }
  }
}

/**
 * Each manifest names the one before it in its zone (run id and SHA-256).
 * `earlier` is the manifest listed just before `stored` (undefined for the
 * first), or what the warehouse's ledger remembers of it.
 */
export function checkChain(
  stored: StoredManifest,
  earlier: { readonly runId: string; readonly sha256: string; readonly chained?: boolean } | undefined,
  root: string,
): void {
  const link = stored.manifest.previous
  if (link === undefined) {
    // Written before manifests were chained, unless the one before it is chained: then its link was stripped.
    if (earlier?.chained !== true) return
    throw new IntegrityError(
      `Manifest "${stored.key}" in ${root} names no previous run, but run ${earlier.runId} before it is chained: ` +
        `its link was removed, or it was put in place of the manifest this zone published. ${REPAIR}`,
      { context: { key: stored.key } },
    )
  }
  if (earlier === undefined || link.runId !== earlier.runId) {
    throw new IntegrityError(
      `Manifest "${stored.key}" in ${root} follows run ${link.runId}, but ${earlier === undefined ? 'no manifest' : `run ${earlier.runId}`} comes before it: ` +
        `a manifest was removed or inserted between them. ${REPAIR}`,
      { context: { key: stored.key } },
    )
  }
  if (link.sha256 !== earlier.sha256) {
    throw new IntegrityError(
      `The manifest of run ${earlier.runId} in ${root} is not the one run ${stored.manifest.runId} (or the warehouse's ledger) recorded: ` +
        `it was changed after it was published (its SHA-256 differs). ${REPAIR}`,
      { context: { key: stored.key } },
    )
  }
}

/**
 * A processed run records the SHA-256 of the ingestion manifest it was built
 * from: the anchor of the ingestion zone's newest link, which no later
 * manifest covers yet. A mismatch means that manifest was rewritten after
 * it was transformed (a moved watermark would extract rows twice).
 */
export function checkTransformedInput(processed: StoredManifest, ingestion: StoredManifest, root: string): void {
  const recorded = processed.manifest.input?.manifestSha256
  if (recorded === undefined || recorded === ingestion.sha256) return
  throw new IntegrityError(
    `Ingestion manifest "${ingestion.key}" in ${root} is not the one processed run ${processed.manifest.runId} was built from ` +
      `(its SHA-256 differs from what "${processed.key}" recorded): it was changed after it was transformed. ${REPAIR}`,
    { context: { key: ingestion.key } },
  )
}
