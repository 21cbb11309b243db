/**
 * The lake on S3 (`s3://bucket/prefix`), or any server that speaks S3 and
 * honours conditional writes.
 *
 * Immutability comes from the server: every put is a conditional create
 * (`If-None-Match: *`), single-part and multipart alike, so an existing key
 * answers 412 and keeps its bytes, and an object is visible only once
 * complete. Leases swap with `If-Match: <etag>`. A server that ignores
 * either condition is refused before the first write (s3-conditional-writes.ts).
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { ObjectExistsError, ObjectNotFoundError } from '../errors.js'
import { assertValidKey, assertValidPrefix, PROBE_PREFIX } from '../keys.js'
import type { ListOptions, ObjectInfo, ObjectStore, PutInfo, VersionedBytes } from '../object-store.js'
import { s3ClientConfig, parseS3Url } from './s3-config.js'
import { ensureConditionalWrites } from './s3-conditional-writes.js'
import { attemptsOf, isNoSuchKey, isPreconditionFailed, mapS3Error, statusOf } from './s3-errors.js'

export interface S3ObjectStoreOptions {
  /** A ready client (tests, Lambda's module-scope client); otherwise one is built from the environment. */
  readonly client?: S3Client
  /** The environment to read AWS settings from when no client is given (default: process.env). */
  readonly env?: NodeJS.ProcessEnv
  /** Part size of streamed uploads, at least 5 MiB (S3's minimum); a stream shorter than one part is one PutObject. Default 8 MiB. */
  readonly partSizeBytes?: number
  /** Parts uploaded at once; memory use is about partSizeBytes x (queueSize + 1). Default 2. */
  readonly queueSize?: number
  /** Check, before the first write, that the server honours conditional writes. Default true; turn off only where a test is about the server itself. */
  readonly verifyConditionalWrites?: boolean
}

const MIN_PART_SIZE = 5 * 1024 * 1024

export class S3ObjectStore implements ObjectStore {
  readonly root: string
  readonly #client: S3Client
  readonly #bucket: string
  /** '' or ending in '/'. */
  readonly #prefix: string
  readonly #partSize: number
  readonly #queueSize: number
  readonly #verify: boolean

  constructor(url: string, options: S3ObjectStoreOptions = {}) {
    const { bucket, prefix } = parseS3Url(url)
    this.#bucket = bucket
    this.#prefix = prefix === '' ? '' : `${prefix}/`
    this.root = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`
    this.#client = options.client ?? new S3Client(s3ClientConfig(options.env))
    this.#partSize = Math.max(MIN_PART_SIZE, options.partSizeBytes ?? 8 * 1024 * 1024)
    this.#queueSize = Math.max(1, options.queueSize ?? 2)
    this.#verify = options.verifyConditionalWrites ?? true
  }

  async put(key: string, body: Readable | Uint8Array | string): Promise<PutInfo> {
    assertValidKey(key)
    await this.#ready()
    if (typeof body === 'string' || body instanceof Uint8Array) return this.#putBytes(key, Buffer.from(body))
    const hash = createHash('sha256')
    let size = 0
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        size += chunk.length
        done(null, chunk)
      },
    })
    // A failing body destroys `measure` with its error, which fails (and aborts) the upload.
    pipeline(body, measure).catch(() => {})
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: this.#key(key), Body: measure, IfNoneMatch: '*' },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    })
    try {
      await upload.done()
    } catch (error) {
      body.destroy()
      if (isPreconditionFailed(error)) throw new ObjectExistsError(this.root, key, { cause: error })
      throw this.#error(error, 'write', key)
    }
    return { key, size, sha256: hash.digest('hex') }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key)
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }))
      return response.Body as Readable
    } catch (error) {
      throw this.#error(error, 'read', key)
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    return (await this.#read(key)).bytes
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key)
    try {
      const response = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }))
      return { key, size: response.ContentLength ?? 0 }
    } catch (error) {
      if (statusOf(error) === 404) return undefined
      throw this.#error(error, 'check', key)
    }
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix)
    const startAfter = options?.startAfter ? { StartAfter: this.#prefix + options.startAfter } : {}
    const pages = paginateListObjectsV2({ client: this.#client, pageSize: 1000 }, { Bucket: this.#bucket, Prefix: this.#prefix + prefix, ...startAfter })
    try {
      // S3 lists in key order, a page of up to 1000 keys at a time.
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const key = object.Key!.slice(this.#prefix.length)
          // Folder markers made by consoles ("a/") are no objects; probes are transient.
          if (key.endsWith('/') || key.startsWith(PROBE_PREFIX)) continue
          yield { key, size: object.Size ?? 0 }
        }
      }
    } catch (error) {
      throw this.#error(error, 'list', undefined)
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key)
    try {
      // Idempotent on S3: deleting a missing key succeeds.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }))
    } catch (error) {
      throw this.#error(error, 'delete', key)
    }
  }

  /** Downloads the object into `scratchDir` (a file named after the key's last segment) and returns its path. */
  async localPath(key: string, scratchDir: string): Promise<string> {
    assertValidKey(key)
    const body = await this.get(key)
    // The key's last segment (a run id) leads, so local paths sort in run order as lake keys do: the
    // transform breaks ties between versions with one watermark by file. A hash of the key keeps two
    // keys with the same last segment apart.
    const last = key.slice(key.lastIndexOf('/') + 1)
    const dot = last.lastIndexOf('.')
    const [stem, extension] = dot > 0 ? [last.slice(0, dot), last.slice(dot)] : [last, '']
    const name = `${stem}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}${extension}`
    await mkdir(scratchDir, { recursive: true })
    const path = join(scratchDir, name)
    try {
      await pipeline(body, createWriteStream(path))
    } catch (error) {
      throw this.#error(error, 'download', key)
    }
    return path
  }

  async getVersioned(key: string): Promise<VersionedBytes | undefined> {
    try {
      return await this.#read(key)
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined
      throw error
    }
  }

  async replaceIf(key: string, body: string | Uint8Array, version: string): Promise<string | undefined> {
    assertValidKey(key)
    await this.#ready()
    try {
      const response = await this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: Buffer.from(body), IfMatch: version }),
      )
      return response.ETag
    } catch (error) {
      // 412: another version is there; 404: the object is gone. Either way the swap did not happen.
      if (isPreconditionFailed(error) || isNoSuchKey(error)) return undefined
      throw this.#error(error, 'replace', key)
    }
  }

  async deleteIf(key: string, version: string): Promise<boolean> {
    assertValidKey(key)
    await this.#ready()
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), IfMatch: version }))
      return true
    } catch (error) {
      if (isPreconditionFailed(error) || isNoSuchKey(error)) return false
      throw this.#error(error, 'delete', key)
    }
  }

  async #putBytes(key: string, bytes: Buffer): Promise<PutInfo> {
    const info = { key, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: bytes, IfNoneMatch: '*' }))
      return info
    } catch (error) {
      if (!isPreconditionFailed(error)) throw this.#error(error, 'write', key)
      // A retry after a lost answer finds its own first attempt: the same bytes mean the put succeeded.
      if (attemptsOf(error) > 1 && (await this.getBytes(key).catch(() => undefined))?.equals(bytes)) return info
      throw new ObjectExistsError(this.root, key, { cause: error })
    }
  }

  async #read(key: string): Promise<VersionedBytes> {
    assertValidKey(key)
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }))
      const bytes = Buffer.from(await response.Body!.transformToByteArray())
      return { bytes, version: response.ETag ?? '' }
    } catch (error) {
      throw this.#error(error, 'read', key)
    }
  }

  async #ready(): Promise<void> {
    if (!this.#verify) return
    await ensureConditionalWrites({ client: this.#client, bucket: this.#bucket, prefix: this.#prefix, root: this.root })
  }

  #key(key: string): string {
    return this.#prefix + key
  }

  #error(error: unknown, action: string, key: string | undefined) {
    return mapS3Error(error, { root: this.root, bucket: this.#bucket, action, ...(key === undefined ? {} : { key }) })
  }
}
