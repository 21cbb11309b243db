/**
 * The events the handlers receive, parsed and checked before any work: an
 * EventBridge scheduled event (ingestion) and S3 `ObjectCreated` notifications
 * of run manifests (transform, loader). Only the fields starline reads are
 * typed; AWS sends more.
 */
import { runIdOfManifestKey } from '../../lake/keys.js'
import type { Logger } from '../../observe/logger.js'
import { LambdaEventError } from './lambda-errors.js'

/** One record of an S3 event notification: the fields starline reads. */
interface S3EventRecord {
  readonly eventSource: string
  readonly eventName: string
  readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string; readonly size?: number } }
}

/** The bits of Lambda's context object the handlers use. */
export interface LambdaContext {
  readonly awsRequestId?: string
  readonly functionName?: string
  getRemainingTimeInMillis?(): number
}

/**
 * Checks a scheduled event. A manual invocation with an empty object (the
 * console's "Test" button, `aws lambda invoke` without payload) is accepted
 * too: ingestion takes no input from its event.
 */
export function parseScheduledEvent(event: unknown): { readonly time?: string; readonly manual: boolean } {
  if (event === undefined || event === null || (isObject(event) && Object.keys(event).length === 0)) return { manual: true }
  if (!isObject(event) || event['detail-type'] !== 'Scheduled Event' || typeof event.source !== 'string') {
    throw new LambdaEventError(
      'The ingestion function expects an EventBridge scheduled event ("detail-type": "Scheduled Event") or an empty object; ' +
        `got ${describe(event)}. Point an EventBridge schedule rule at it.`,
    )
  }
  return { manual: false, ...(typeof event.time === 'string' ? { time: event.time } : {}) }
}

/** Where a zone lives, as the S3 events name it: the bucket and the key prefix of its root. */
export interface ZoneLocation {
  /** Undefined for a zone not on S3 (a filesystem lake in tests): any bucket is taken as the zone's. */
  readonly bucket?: string
  /** '' or a prefix ending in '/'. */
  readonly prefix: string
}

/** The bucket and prefix of a zone URL (`s3://bucket/some/prefix`); a `file:` zone has no bucket. */
export function zoneLocation(zoneUrl: string): ZoneLocation {
  const url = new URL(zoneUrl)
  if (url.protocol !== 's3:') return { prefix: '' }
  const path = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '')
  return { bucket: url.hostname, prefix: path === '' ? '' : `${path}/` }
}

/** An S3 object key from an event record: URL-encoded, with `+` for a space. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '))
}

export interface ManifestEvent {
  /** Run ids of the manifests the event announced, oldest first, without repeats. */
  readonly runIds: readonly string[]
  /** Records that were not a manifest of this zone (logged and skipped). */
  readonly ignored: number
}

/**
 * The run manifests an S3 event announces for `zone`. Records for other
 * buckets, other prefixes, other event types or keys that are not
 * `_manifests/<runId>.json` are ignored with a warning: a notification
 * filter that is too wide must not make the function fail (and retry) forever.
 */
export function parseManifestEvent(event: unknown, zone: ZoneLocation, logger: Logger): ManifestEvent {
  if (!isObject(event) || !Array.isArray(event.Records)) {
    throw new LambdaEventError(`Expected an S3 event notification with "Records"; got ${describe(event)}. Trigger this function from S3 ObjectCreated events.`)
  }
  const runIds = new Set<string>()
  let ignored = 0
  for (const [index, record] of (event.Records as unknown[]).entries()) {
    const skip = (reason: string, fields: Record<string, unknown> = {}): void => {
      ignored++
      logger.warn('event record ignored', { record: index, reason, ...fields })
    }
    if (!isS3Record(record)) {
      skip('not an S3 event record')
      continue
    }
    if (!record.eventName.startsWith('ObjectCreated:')) {
      skip('not an ObjectCreated event', { eventName: record.eventName })
      continue
    }
    const bucket = record.s3.bucket.name
    const key = decodeS3Key(record.s3.object.key)
    if (zone.bucket !== undefined && bucket !== zone.bucket) {
      skip('another bucket than the zone\'s', { bucket, key })
      continue
    }
    if (!key.startsWith(zone.prefix)) {
      skip('outside the zone\'s prefix', { bucket, key })
      continue
    }
    const runId = runIdOfManifestKey(key.slice(zone.prefix.length))
    if (runId === undefined) {
      skip('not a run manifest', { bucket, key })
      continue
    }
    runIds.add(runId)
  }
  return { runIds: [...runIds].sort(), ignored }
}

function isS3Record(value: unknown): value is S3EventRecord {
  if (!isObject(value) || value.eventSource !== 'aws:s3' || typeof value.eventName !== 'string' || !isObject(value.s3)) return false
  const { bucket, object } = value.s3 as Record<string, unknown>
  return isObject(bucket) && typeof bucket.name === 'string' && isObject(object) && typeof object.key === 'string'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (!isObject(value)) return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
  return `an object with keys ${Object.keys(value).slice(0, 5).map((k) => JSON.stringify(k)).join(', ') || '(none)'}`
}
