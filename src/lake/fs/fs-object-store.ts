/**
 * The lake on a local filesystem (`file:///abs/path`), the embedded default.
 *
 * Immutability comes from the filesystem: an object is written to a hidden
 * temporary file, flushed, then hard-linked to its key. `link` fails if the
 * key exists, so a put either publishes a complete object or nothing, and
 * never replaces one.
 *
 * Leases need a compare-and-swap (`replaceIf`, `deleteIf`), which a
 * filesystem has no call for: fs-swap.ts builds one from exclusive links and
 * atomic renames.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, type Dirent } from 'node:fs'
import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ObjectExistsError, ObjectNotFoundError } from '../errors.js'
import { STALE_CLAIM_MS, versionOf, whileClaimed, type SwapOptions } from './fs-swap.js'
import { parseTempName, tempPath } from './fs-temp-names.js'
import { assertValidKey, assertValidPrefix } from '../keys.js'
import type { ListOptions, ObjectInfo, ObjectStore, PutInfo, VersionedBytes } from '../object-store.js'

const TEMP_PREFIX = '.starline-tmp-'

/**
 * Removes the temporary files of puts of this key that never finished (a
 * killed run's). Safe: keys are never overwritten, so whoever deletes a key
 * owns it, and no live put of it can be under way. A put's temporary file
 * names its key (fs-temp-names.ts), exactly: those of a longer key are kept.
 */
async function removePutTemporaries(target: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dirname(target))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const base = target.slice(dirname(target).length + 1)
  // Named by earlier versions without their owner: `<prefix>put-<key's file name>.<12 hex>`.
  const earlier = (name: string) => name.startsWith(`${TEMP_PREFIX}put-${base}.`) && /^[0-9a-f]{12}$/.test(name.slice(`${TEMP_PREFIX}put-${base}.`.length))
  for (const name of names) {
    const parsed = parseTempName(name, TEMP_PREFIX)
    if ((parsed?.kind === 'put' && parsed.base === base) || earlier(name)) await unlink(join(dirname(target), name)).catch(() => {})
  }
}

export class FsObjectStore implements ObjectStore {
  readonly root: string
  readonly #dir: string
  readonly #swap: SwapOptions

  /**
   * @param root a `file://` URL or an absolute path.
   * @param options.staleClaimMs when a swap claim counts as left by a dead process (default 10 s; tests shorten it).
   * @param options.deadTempMs when a swap's temporary file of an owner that cannot be checked counts as dead (default 60 s).
   */
  constructor(root: string, options: { readonly staleClaimMs?: number; readonly deadTempMs?: number } = {}) {
    this.#swap = {
      hiddenPrefix: TEMP_PREFIX,
      staleClaimMs: options.staleClaimMs ?? STALE_CLAIM_MS,
      ...(options.deadTempMs !== undefined ? { deadTempMs: options.deadTempMs } : {}),
    }
    this.#dir = root.startsWith('file:') ? fileURLToPath(root) : root
    this.root = pathToFileURL(this.#dir).href
  }

  async put(key: string, body: Readable | Uint8Array | string): Promise<PutInfo> {
    const target = this.#path(key)
    await mkdir(dirname(target), { recursive: true })
    const temp = tempPath(target, TEMP_PREFIX, 'put')
    const hash = createHash('sha256')
    let size = 0
    try {
      const source = typeof body === 'string' || body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body
      const measure = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk)
          size += chunk.length
          done(null, chunk)
        },
      })
      // flush: fsync before close, so a manifest never points at bytes still only in the page cache.
      await pipeline(source, measure, createWriteStream(temp, { flags: 'wx', flush: true }))
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw error
    }
    try {
      await link(temp, target)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(this.root, key)
      throw error
    } finally {
      await unlink(temp).catch(() => {})
    }
    return { key, size, sha256: hash.digest('hex') }
  }

  async get(key: string): Promise<Readable> {
    const path = this.#path(key)
    await this.#mustExist(key, path)
    return createReadStream(path)
  }

  async getBytes(key: string): Promise<Buffer> {
    const path = this.#path(key)
    await this.#mustExist(key, path)
    return readFile(path)
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.#path(key))
      return info.isFile() ? { key, size: info.size } : undefined
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix)
    // Walk only the directory the prefix names, not the whole lake.
    const slash = prefix.lastIndexOf('/')
    const baseKey = slash === -1 ? '' : prefix.slice(0, slash + 1)
    yield* this.#walk(baseKey, prefix, options?.startAfter ?? '')
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key)
    await removePutTemporaries(path)
    // A key that only prefixes other keys is a directory here, not an object.
    if ((await this.head(key)) === undefined) return
    try {
      await unlink(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }

  /** The object itself: a filesystem lake needs no copy, so `_scratchDir` is unused. */
  async localPath(key: string, _scratchDir?: string): Promise<string> {
    const path = this.#path(key)
    await this.#mustExist(key, path)
    return path
  }

  async getVersioned(key: string): Promise<VersionedBytes | undefined> {
    try {
      const bytes = await readFile(this.#path(key))
      return { bytes, version: versionOf(bytes) }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EISDIR') return undefined
      throw error
    }
  }

  async replaceIf(key: string, body: string | Uint8Array, version: string): Promise<string | undefined> {
    const target = this.#path(key)
    const bytes = Buffer.from(body)
    // Named after the key and this process, so the next claim holder can remove it if a kill leaves it.
    const temp = tempPath(target, TEMP_PREFIX, 'replace')
    try {
      await writeFile(temp, bytes, { flag: 'wx', flush: true })
    } catch (error) {
      // No directory, so no object to replace.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    try {
      // rename replaces the key atomically: it is never absent, so no put can slip in.
      const swapped = await whileClaimed(target, version, this.#swap, async () => {
        try {
          await rename(temp, target)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
          // Removed while this swapper waited for the claim (judged dead, or by hand): write it again.
          await writeFile(temp, bytes, { flag: 'w', flush: true })
          await rename(temp, target)
        }
      })
      return swapped ? versionOf(bytes) : undefined
    } finally {
      await unlink(temp).catch(() => {})
    }
  }

  async deleteIf(key: string, version: string): Promise<boolean> {
    const target = this.#path(key)
    return whileClaimed(target, version, this.#swap, () => unlink(target))
  }

  /** Keys up to `startAfter` are skipped unread: no stat, and no descent into a directory that sorts wholly before it. */
  async *#walk(dirKey: string, prefix: string, startAfter: string): AsyncIterable<ObjectInfo> {
    let entries: Dirent[]
    try {
      entries = await readdir(join(this.#dir, ...dirKey.split('/').filter(Boolean)), { withFileTypes: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }
    // Sort by the key each entry produces so listings come in key order; what is skipped is dropped first.
    const named = entries
      .filter((entry) => !entry.name.startsWith(TEMP_PREFIX))
      .map((entry) => ({ entry, key: `${dirKey}${entry.name}${entry.isDirectory() ? '/' : ''}` }))
      // Every key under a directory that sorts before startAfter, and does not prefix it, sorts before it too.
      .filter(({ entry, key }) => (entry.isDirectory() ? key >= startAfter || startAfter.startsWith(key) : key > startAfter))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    for (const { entry, key } of named) {
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(key)) yield* this.#walk(key, prefix, startAfter)
      } else if (entry.isFile() && key.startsWith(prefix)) {
        // Deleted since readdir (a released lease, a crashed run's leftovers): no longer listed.
        const info = await stat(join(this.#dir, ...key.split('/'))).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined
          throw error
        })
        if (info !== undefined) yield { key, size: info.size }
      }
    }
  }

  #path(key: string): string {
    assertValidKey(key)
    return join(this.#dir, ...key.split('/'))
  }

  async #mustExist(key: string, path: string): Promise<void> {
    let isFile = false
    try {
      isFile = (await stat(path)).isFile()
    } catch {
      // Missing: reported below.
    }
    if (!isFile) throw new ObjectNotFoundError(this.root, key)
  }
}
