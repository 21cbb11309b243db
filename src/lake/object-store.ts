/**
 * The lake's contract: an immutable object store. `file://` (the embedded
 * default) and `s3://` implement it; stage code depends on nothing else.
 *
 * Keys are `/`-separated, relative to the store's root, never starting with
 * `/`. An object, once put, is never changed: `put` refuses an existing key.
 */
import type { Readable } from 'node:stream'

export interface ObjectInfo {
  readonly key: string
  readonly size: number
  /** Hex SHA-256 of the content, when the store knows it (always after `put`). */
  readonly sha256?: string
}

/** What `put` wrote: always with its SHA-256. */
export interface PutInfo extends ObjectInfo {
  readonly sha256: string
}

/** A small object's bytes with a token that changes whenever the object is replaced. */
export interface VersionedBytes {
  readonly bytes: Buffer
  /** Opaque: an ETag on S3, a content hash on disk. Only ever passed back to `replaceIf`. */
  readonly version: string
}

/** How much of a listing to return. */
export interface ListOptions {
  /** Only keys that sort after this one (it need not exist). */
  readonly startAfter?: string
}

export interface ObjectStore {
  /** The store's location as a URL (`file:///lake/ingestion`, `s3://bucket/prefix`). */
  readonly root: string
  /**
   * Writes a new object; throws `ObjectExistsError` if `key` exists. The
   * answer carries the SHA-256 of the bytes written (hashed while they
   * stream): manifests record it, and every reader checks against it.
   */
  put(key: string, body: Readable | Uint8Array | string): Promise<PutInfo>
  /** Reads an object; throws `ObjectNotFoundError` if it is missing. */
  get(key: string): Promise<Readable>
  /** Reads a whole (small) object into memory. */
  getBytes(key: string): Promise<Buffer>
  head(key: string): Promise<ObjectInfo | undefined>
  /**
   * Every object whose key starts with `prefix`, in key order; with
   * `startAfter`, only keys after it (S3's StartAfter), so a reader that
   * knows the last key it saw does not list, nor pay for, what came before.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo>
  /**
   * Removes an object. Only for objects no manifest refers to (a crashed
   * run's leftovers, a released lease): published objects are never deleted.
   */
  delete(key: string): Promise<void>
  /**
   * A local file path holding the object's bytes, for engines that read
   * files (DuckDB). The filesystem store returns the object itself; remote
   * stores download to `scratchDir`.
   */
  localPath(key: string, scratchDir: string): Promise<string>
  /** Reads a small object with its version; undefined when it is missing. For coordination objects (leases). */
  getVersioned(key: string): Promise<VersionedBytes | undefined>
  /**
   * Compare-and-swap, for coordination objects (leases) only, never for
   * data: replaces `key` with `body` only if the object's version is still
   * `version`, atomically. Returns the new version, or undefined when the
   * object changed or vanished in the meantime (nothing is written then).
   */
  replaceIf(key: string, body: string | Uint8Array, version: string): Promise<string | undefined>
  /**
   * Removes a coordination object only if its version is still `version`,
   * atomically. False when it changed or was already gone.
   */
  deleteIf(key: string, version: string): Promise<boolean>
}

/** Collects a listing (small prefixes only). */
export async function listAll(store: ObjectStore, prefix: string, options?: ListOptions): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = []
  for await (const info of store.list(prefix, options)) out.push(info)
  return out
}

/** The URL of an object: the store's root URL and the key, joined by one slash. */
export function objectUrlOf(store: ObjectStore, key: string): string {
  return `${store.root.replace(/\/+$/, '')}/${key}`
}
