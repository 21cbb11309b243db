/**
 * Picks the object store for a lake URL. The one place that knows which
 * schemes exist.
 */
import { FsObjectStore } from './fs/fs-object-store.js'
import type { ObjectStore } from './object-store.js'
import { LakeError } from './errors.js'

export function openObjectStore(url: string): ObjectStore {
  const parsed = new URL(url)
  if (parsed.protocol === 'file:') return new FsObjectStore(url)
  throw new LakeError(
    `Lake URL scheme "${parsed.protocol}" is not supported by this build: use file:///absolute/path.`,
  )
}
