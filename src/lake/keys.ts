/**
 * Where things live in a lake zone, so that a person can find a table's data
 * by name and time:
 *
 *   <table>/<YYYY>/<MM>/<DD>/<runId>.<ext>   data of one table in one run
 *   _manifests/<runId>.json                  a run's manifest (its commit marker)
 *   _leases/<stage>.json                     who is running a stage now
 *   _reconcile/<table>/<runId>.csv           row hashes for noticing silent edits (ingestion)
 *   _reconcile/<table>/<runId>.ranges.csv    id range summaries for noticing late rows (ingestion)
 *   _quarantine/<table>/<YYYY>/<MM>/<DD>/<runId>.csv   rows that failed validation (processed)
 *   _state/<table>/<runId>.parquet           a table's current rows as of a run (processed; see history-state.ts)
 *   _probe/<uuid>                            a remote store's check of conditional writes (removed at once)
 *   _failures/<stage>/<failureId>.json       why a stage failed (for `starline status`)
 *   _alerts/<incident>/<sequence>.json       alert incidents opened and resolved
 *
 * Run ids sort in time order, so listing `_manifests/` lists runs in order.
 */
import { InvalidKeyError } from './errors.js'
import { runIdDate } from '../core/run-id.js'

export const MANIFEST_PREFIX = '_manifests/'
export const LEASE_PREFIX = '_leases/'
export const RECONCILE_PREFIX = '_reconcile/'
export const QUARANTINE_PREFIX = '_quarantine/'
export const STATE_PREFIX = '_state/'
/** Reserved: stores write short-lived probe objects here and never list them. */
export const PROBE_PREFIX = '_probe/'
export const FAILURE_PREFIX = '_failures/'
export const ALERT_PREFIX = '_alerts/'

export function dataKey(table: string, runId: string, extension: 'csv' | 'parquet'): string {
  assertKeySegment(table)
  const day = runIdDate(runId)
  return `${table}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day.slice(8, 10)}/${runId}.${extension}`
}

/** Rows of source table `table` that failed validation in transform run `runId`. */
export function quarantineKey(table: string, runId: string): string {
  return `${QUARANTINE_PREFIX}${dataKey(table, runId, 'csv')}`
}

/** The row-hash baseline of one table, taken by a reconciling extract run. */
export function reconcileKey(table: string, runId: string): string {
  assertKeySegment(table)
  return `${RECONCILE_PREFIX}${table}/${runId}.csv`
}

/** The id range summaries of one large table, taken by an extract run that checked for late rows. */
export function rangeSummaryKey(table: string, runId: string): string {
  assertKeySegment(table)
  return `${RECONCILE_PREFIX}${table}/${runId}.ranges.csv`
}

/** The snapshot of one table's current rows, written by transform run `runId`. */
export function stateKey(table: string, runId: string): string {
  assertKeySegment(table)
  runIdDate(runId) // validates
  return `${STATE_PREFIX}${table}/${runId}.parquet`
}

export function manifestKey(runId: string): string {
  return `${MANIFEST_PREFIX}${runId}.json`
}

export function leaseKey(stage: string): string {
  assertKeySegment(stage)
  return `${LEASE_PREFIX}${stage}.json`
}

/** The run id in a manifest key, or undefined for anything else. */
export function runIdOfManifestKey(key: string): string | undefined {
  const match = /^_manifests\/([0-9TZ]+)\.json$/.exec(key)
  return match?.[1]
}

/** Rejects keys that could escape the store's root or mean different things on different stores. */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.endsWith('/')) {
    throw new InvalidKeyError(`Invalid lake key ${JSON.stringify(key)}: keys are relative paths of non-empty segments.`)
  }
  for (const segment of key.split('/')) assertKeySegment(segment)
}

/**
 * A listing prefix: '' (everything), or whole valid segments followed by an
 * optional partial one ('sales' matches 'sales_order/...'). Never climbs out.
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return
  if (prefix.startsWith('/')) throw new InvalidKeyError(`Invalid lake prefix ${JSON.stringify(prefix)}: prefixes are relative.`)
  const segments = prefix.split('/')
  const last = segments.pop()!
  for (const segment of segments) assertKeySegment(segment)
  if (last !== '' && (last === '.' || last === '..' || /[\0\\]/.test(last))) {
    throw new InvalidKeyError(`Invalid lake prefix ${JSON.stringify(prefix)}.`)
  }
}

function assertKeySegment(segment: string): void {
  if (segment.length === 0 || segment === '.' || segment === '..' || /[\0\\/]/.test(segment)) {
    throw new InvalidKeyError(`Invalid lake key segment ${JSON.stringify(segment)}: segments are non-empty, not . or .., without / \\ or NUL.`)
  }
}
