/**
 * A failed stage leaves one small immutable object in its zone,
 * `_failures/<stage>/<failureId>.json`, so `starline status` can show the
 * last failure and its reason from the lake alone (no side database), on a
 * laptop and on S3 alike. The first success after a failure leaves
 * `_failures/<stage>/<id>.recovered` (empty), so the records alone tell
 * whether a stage is failing now, and since when.
 *
 * The reason is the error's message, which starline writes to name tables,
 * runs and settings, never values; URLs are still redacted and the text cut
 * short, as a second guard against row contents or secrets.
 */
import { redactUrlsIn } from '../core/redact.js'
import { newRunId, nextRunId, runIdInstant } from '../core/run-id.js'
import { StarlineError, messageOf } from '../core/starline-error.js'
import { ObjectExistsError } from './errors.js'
import { FAILURE_PREFIX } from './keys.js'
import type { ObjectStore } from './object-store.js'

export interface FailureRecord {
  readonly formatVersion: 1
  readonly stage: string
  /** When it failed, as a run id (sortable UTC time). */
  readonly failureId: string
  /** The run that failed, when it had one. */
  readonly runId?: string
  readonly at: string
  /** The error's class name (`SourceUnreachableError`...). */
  readonly error: string
  readonly retryable: boolean
  readonly reason: string
}

const MAX_REASON = 400

/**
 * Records that `stage` failed with `error`. Never throws: a lake that cannot
 * take the record must not hide the failure that is being reported.
 */
export async function recordFailure(store: ObjectStore, stage: string, error: unknown, runId?: string): Promise<FailureRecord | undefined> {
  const now = new Date()
  const record: FailureRecord = {
    formatVersion: 1,
    stage,
    failureId: newRunId(now),
    ...(runId === undefined ? {} : { runId }),
    at: now.toISOString(),
    error: error instanceof Error ? error.name : 'Error',
    retryable: error instanceof StarlineError && error.retryable,
    reason: safeReason(messageOf(error)),
  }
  let id = record.failureId
  for (let attempt = 0; attempt < 3; attempt++, id = nextRunId(id)) {
    try {
      await store.put(failureKey(stage, id), `${JSON.stringify({ ...record, failureId: id })}\n`)
      return { ...record, failureId: id }
    } catch (putError) {
      if (!(putError instanceof ObjectExistsError)) return undefined
    }
  }
  return undefined
}

/** The newest failure record of `stage` in `store`. */
export async function lastFailure(store: ObjectStore, stage: string): Promise<FailureRecord | undefined> {
  let last: string | undefined
  for await (const info of store.list(`${FAILURE_PREFIX}${stage}/`)) {
    if (info.key.endsWith('.json') && (last === undefined || info.key > last)) last = info.key
  }
  if (last === undefined) return undefined
  try {
    const parsed = JSON.parse((await store.getBytes(last)).toString('utf8')) as FailureRecord
    return parsed.formatVersion === 1 ? parsed : undefined
  } catch {
    return undefined
  }
}

const RECOVERED = '.recovered'
const RECORD_ID = /^\d{8}T\d{9}Z\./

/**
 * Records that `stage` succeeded, when its newest record is a failure (one
 * listing otherwise, no write). Never throws: a success is not to be failed
 * by its bookkeeping.
 */
export async function recordRecovery(store: ObjectStore, stage: string): Promise<void> {
  try {
    const newest = (await stageRecords(store, stage)).at(-1)
    if (newest === undefined || newest.recovered) return
    // After the failure it follows, even if this clock lags the one that wrote it.
    await store.put(`${FAILURE_PREFIX}${stage}/${nextRunId(newest.id)}${RECOVERED}`, '')
  } catch {
    // The next success tries again; until then the stage reads as failing, which errs on the side of alerting.
  }
}

/**
 * When `stage` started failing, if it is failing now: the time of its first
 * failure after its last recovery; undefined when its newest record is a
 * recovery or it never failed.
 */
export async function failingSince(store: ObjectStore, stage: string): Promise<string | undefined> {
  const records = await stageRecords(store, stage)
  if (records.length === 0 || records.at(-1)!.recovered) return undefined
  const lastRecovery = records.findLastIndex((r) => r.recovered)
  return new Date(runIdInstant(records[lastRecovery + 1]!.id)).toISOString()
}

/** A stage's failure and recovery records, oldest first, by id. */
async function stageRecords(store: ObjectStore, stage: string): Promise<{ readonly id: string; readonly recovered: boolean }[]> {
  const prefix = `${FAILURE_PREFIX}${stage}/`
  const records: { id: string; recovered: boolean }[] = []
  for await (const info of store.list(prefix)) {
    const name = info.key.slice(prefix.length)
    if (!RECORD_ID.test(name)) continue
    if (name.endsWith('.json')) records.push({ id: name.slice(0, -'.json'.length), recovered: false })
    else if (name.endsWith(RECOVERED)) records.push({ id: name.slice(0, -RECOVERED.length), recovered: true })
  }
  return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export function failureKey(stage: string, failureId: string): string {
  return `${FAILURE_PREFIX}${stage}/${failureId}.json`
}

function safeReason(message: string): string {
  const flat = redactUrlsIn(message).replace(/\s*\n\s*/g, ' ')
  return flat.length > MAX_REASON ? `${flat.slice(0, MAX_REASON - 1)}…` : flat
}
