/**
 * Real event payloads, shaped as AWS delivers them (EventBridge scheduled
 * events and S3 event notifications, version 2.1), and a capture of what a
 * handler writes (log lines on stderr, EMF metrics on stdout).
 */
import { randomUUID } from 'node:crypto'

export function scheduledEvent(time: Date = new Date()): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'eu-west-2',
    resources: ['arn:aws:events:eu-west-2:123456789012:rule/starline-ingestion-schedule'],
    detail: {},
  }
}

/** A key as S3 writes it into an event: each segment URL-encoded, a space as `+`. */
export function encodeS3Key(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/')
}

export interface S3RecordSpec {
  readonly bucket: string
  readonly key: string
  readonly eventName?: string
  readonly size?: number
}

export function s3Event(records: readonly S3RecordSpec[]): Record<string, unknown> {
  return {
    Records: records.map((r) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-2',
      eventTime: new Date().toISOString(),
      eventName: r.eventName ?? 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:AROAEXAMPLE:starline' },
      requestParameters: { sourceIPAddress: '10.0.0.1' },
      responseElements: { 'x-amz-request-id': randomUUID(), 'x-amz-id-2': randomUUID() },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'starline-manifests',
        bucket: { name: r.bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${r.bucket}` },
        object: { key: encodeS3Key(r.key), size: r.size ?? 1024, eTag: '0123456789abcdef0123456789abcdef', sequencer: '0A1B2C3D4E5F678901' },
      },
    })),
  }
}

/** A Lambda context whose deadline is `remainingMs` from now. */
export function lambdaContext(remainingMs = 900_000): { awsRequestId: string; functionName: string; getRemainingTimeInMillis(): number } {
  const deadline = Date.now() + remainingMs
  return { awsRequestId: randomUUID(), functionName: 'starline-test', getRemainingTimeInMillis: () => deadline - Date.now() }
}

export interface CapturedOutput {
  /** JSON log lines written to stderr. */
  readonly logs: Record<string, unknown>[]
  /** EMF documents written to stdout. */
  readonly metrics: Record<string, unknown>[]
}

/**
 * Runs `work` while collecting the JSON lines written to stdout and stderr
 * (other writes pass through). Tests in a file run one at a time, so only
 * `work` writes meanwhile.
 */
export async function captureOutput<T>(work: () => Promise<T>): Promise<{ result?: T; error?: unknown; output: CapturedOutput }> {
  const output = { logs: [] as Record<string, unknown>[], metrics: [] as Record<string, unknown>[] }
  const originals = { out: process.stdout.write, err: process.stderr.write }
  const intercept = (stream: NodeJS.WriteStream, into: Record<string, unknown>[], original: typeof process.stdout.write) =>
    function (this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined
      const lines = text?.split('\n').filter((l) => l !== '') ?? []
      const parsed = lines.map((line) => {
        try {
          return JSON.parse(line) as unknown
        } catch {
          return undefined
        }
      })
      if (lines.length > 0 && parsed.every((p) => typeof p === 'object' && p !== null)) {
        into.push(...(parsed as Record<string, unknown>[]))
        return true
      }
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest)
    }
  process.stdout.write = intercept(process.stdout, output.metrics, originals.out) as typeof process.stdout.write
  process.stderr.write = intercept(process.stderr, output.logs, originals.err) as typeof process.stderr.write
  try {
    return { result: await work(), output }
  } catch (error) {
    return { error, output }
  } finally {
    process.stdout.write = originals.out
    process.stderr.write = originals.err
  }
}

/** Runs `work` with its JSON output swallowed; rethrows its error. */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const { result, error } = await captureOutput(work)
  if (error !== undefined) throw error
  return result as T
}

/** The S3 record announcing run `runId`'s manifest in the zone at `zoneUrl` (`s3://bucket/prefix`; a `file:` zone gets a made-up bucket). */
export function manifestRecord(zoneUrl: string, runId: string): S3RecordSpec {
  const url = new URL(zoneUrl)
  if (url.protocol !== 's3:') return { bucket: 'starline-test-zone', key: `_manifests/${runId}.json` }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '')
  return { bucket: url.hostname, key: `${prefix ? `${prefix}/` : ''}_manifests/${runId}.json` }
}
