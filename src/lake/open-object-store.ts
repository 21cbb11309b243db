/**
 * Picks the object store for a lake URL. The one place that knows which
 * schemes exist.
 */
import { FsObjectStore } from './fs/fs-object-store.js'
import type { ObjectStore } from './object-store.js'
import { LakeError } from './errors.js'
import { DeferredObjectStore } from './deferred-object-store.js'
import { parseS3Url, s3ClientConfig } from './s3/s3-config.js'
import type { S3ObjectStoreOptions } from './s3/s3-object-store.js'

/** Options for `openObjectStore`. */
interface OpenObjectStoreOptions {
  /** For `s3:` URLs: a ready client or the environment to build one from. */
  readonly s3?: S3ObjectStoreOptions
}

export function openObjectStore(url: string, options: OpenObjectStoreOptions = {}): ObjectStore {
  const parsed = new URL(url)
  if (parsed.protocol === 'file:') return new FsObjectStore(url)
  if (parsed.protocol === 's3:') {
    // Checked now, as the store's constructor would: a bad URL or S3 setting fails at start-up, not at the first object.
    const { bucket, prefix } = parseS3Url(url)
    if (options.s3?.client === undefined) s3ClientConfig(options.s3?.env)
    const root = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`
    return new DeferredObjectStore(root, async () => new (await import('./s3/s3-object-store.js')).S3ObjectStore(url, options.s3))
  }
  throw new LakeError(
    `Lake URL scheme "${parsed.protocol}" is not supported: use file:///absolute/path or s3://bucket/prefix.`,
  )
}
