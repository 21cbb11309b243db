/**
 * An object store whose implementation is loaded on first use. The S3 store
 * pulls in the AWS SDK, which takes longer to load than an idle cycle on a
 * file lake takes to run; a lake on disk never loads it, and an S3 lake
 * loads it when the first object is touched.
 */
import type { Readable } from 'node:stream'
import type { ListOptions, ObjectInfo, ObjectStore, PutInfo, VersionedBytes } from './object-store.js'

export class DeferredObjectStore implements ObjectStore {
  readonly root: string
  readonly #open: () => Promise<ObjectStore>
  #store: Promise<ObjectStore> | undefined

  /** `root` must be the root the opened store reports. */
  constructor(root: string, open: () => Promise<ObjectStore>) {
    this.root = root
    this.#open = open
  }

  async put(key: string, body: Readable | Uint8Array | string): Promise<PutInfo> {
    return (await this.#opened()).put(key, body)
  }

  async get(key: string): Promise<Readable> {
    return (await this.#opened()).get(key)
  }

  async getBytes(key: string): Promise<Buffer> {
    return (await this.#opened()).getBytes(key)
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.#opened()).head(key)
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo> {
    yield* (await this.#opened()).list(prefix, options)
  }

  async delete(key: string): Promise<void> {
    return (await this.#opened()).delete(key)
  }

  async localPath(key: string, scratchDir: string): Promise<string> {
    return (await this.#opened()).localPath(key, scratchDir)
  }

  async getVersioned(key: string): Promise<VersionedBytes | undefined> {
    return (await this.#opened()).getVersioned(key)
  }

  async replaceIf(key: string, body: string | Uint8Array, version: string): Promise<string | undefined> {
    return (await this.#opened()).replaceIf(key, body, version)
  }

  async deleteIf(key: string, version: string): Promise<boolean> {
    return (await this.#opened()).deleteIf(key, version)
  }

  #opened(): Promise<ObjectStore> {
    this.#store ??= this.#open()
    return this.#store
  }
}
