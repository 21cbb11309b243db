/**
 * Lake immutability on S3 rests on conditional writes: `If-None-Match: *`
 * (create only) for every object and `If-Match: <etag>` (compare-and-swap)
 * for leases. A server that ignores those headers would silently overwrite,
 * so before a store's first write the server is probed once per bucket, and
 * a server that ignores them is refused.
 */
import { randomUUID } from 'node:crypto'
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { LakeError } from '../errors.js'
import { PROBE_PREFIX } from '../keys.js'
import { isPreconditionFailed, mapS3Error } from './s3-errors.js'

/** The server accepted a write that its condition should have refused. */
export class ConditionalWritesUnsupportedError extends LakeError {}

/** A probe per server and bucket, shared by every store in the process (warm Lambda invocations included). */
const verified = new Map<string, Promise<void>>()

export interface ProbeTarget {
  readonly client: S3Client
  readonly bucket: string
  /** Key prefix of the zone, '' or ending in '/'. */
  readonly prefix: string
  readonly root: string
}

/** Resolves once the bucket's server is known to honour conditional writes; rejects, clearly, when it does not. */
export async function ensureConditionalWrites(target: ProbeTarget): Promise<void> {
  const endpoint = await target.client.config.endpoint?.()
  const where = endpoint ? `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port ?? ''}${endpoint.path}` : `aws:${await target.client.config.region()}`
  const cacheKey = `${where}|${target.bucket}`
  let check = verified.get(cacheKey)
  if (check === undefined) {
    check = probe(target)
    verified.set(cacheKey, check)
    // A failed probe (network, permissions) is asked again next time; only a verdict is kept.
    check.catch((error: unknown) => {
      if (!(error instanceof ConditionalWritesUnsupportedError)) verified.delete(cacheKey)
    })
  }
  return check
}

async function probe({ client, bucket, prefix, root }: ProbeTarget): Promise<void> {
  const Key = `${prefix}${PROBE_PREFIX}${randomUUID()}`
  const put = async (body: string, condition: { IfNoneMatch: string } | { IfMatch: string }): Promise<boolean> => {
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ...condition }))
      return true
    } catch (error) {
      if (isPreconditionFailed(error)) return false
      throw mapS3Error(error, { root, bucket, key: Key.slice(prefix.length), action: 'check conditional writes with' })
    }
  }
  try {
    if (!(await put('first', { IfNoneMatch: '*' }))) {
      throw refusal(root, 'refused to create a new probe object with If-None-Match: *')
    }
    if (await put('second', { IfNoneMatch: '*' })) {
      throw refusal(root, 'overwrote an existing object despite If-None-Match: *')
    }
    if (await put('third', { IfMatch: '"00000000000000000000000000000000"' })) {
      throw refusal(root, 'overwrote an object despite a non-matching If-Match')
    }
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => {})
  }
}

function refusal(root: string, what: string): ConditionalWritesUnsupportedError {
  return new ConditionalWritesUnsupportedError(
    `Refusing to use ${root}: its S3 server ${what}, so lake objects and leases could be overwritten. ` +
      'Use AWS S3 or a server that supports conditional writes (If-None-Match and If-Match on PutObject), or point AWS_ENDPOINT_URL_S3 at one.',
  )
}
