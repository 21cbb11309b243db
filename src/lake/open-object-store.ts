/**
 * Picks the object store for a lake URL. The one place that knows which
 * schemes exist.
 */
import { FsObjectStore } from './fs/fs-object-store.js'
import type { ObjectStore } from './object-store.js'
import { LakeError } from './errors.js'
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3/s3-object-store.js'

/** Options for `openObjectStore`. */
interface OpenObjectStoreOptions {
  /** For `s3:` URLs: a ready client or the environment to build one from. */
  readonly s3?: S3ObjectStoreOptions
}

export function openObjectStore(url: string, options: OpenObjectStoreOptions = {}): ObjectStore {
  const parsed = new URL(url)
  if (parsed.protocol === 'file:') return new FsObjectStore(url)
  if (parsed.protocol === 's3:') return new S3ObjectStore(url, options.s3)
  throw new LakeError(
    `Lake URL scheme "${parsed.protocol}" is not supported: use file:///absolute/path or s3://bucket/prefix.`,
  )
}
