/**
 * The contract every ObjectStore backend keeps, run against each of them
 * (`fs-object-store.test.ts`, later `s3-object-store.test.ts`). Nothing here
 * may depend on how a backend stores bytes: only the interface is observed.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { InvalidKeyError, ObjectExistsError, ObjectNotFoundError } from '../../../src/lake/errors.js'
import { listAll, type ObjectStore } from '../../../src/lake/object-store.js'

export interface ObjectStoreFixture {
  /** An empty store, used by one test only. */
  readonly store: ObjectStore
  /** Removes everything the store wrote. */
  cleanup(): Promise<void>
}

const INVALID_KEYS = ['', '/abs', 'a/', 'a//b', '..', '../escape', 'a/../b', '.', './a', 'a\0b', 'a\\b'] as const

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks)
}

/** Every byte value, several times over, so no encoding step can pass unnoticed. */
function allByteValues(repeat = 4): Uint8Array {
  const bytes = new Uint8Array(256 * repeat)
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256
  return bytes
}

/** A stream of `bytes` in uneven chunks. */
function chunked(bytes: Buffer, sizes: readonly number[]): Readable {
  const chunks: Buffer[] = []
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    chunks.push(bytes.subarray(offset, offset + size))
    offset += size
  }
  return Readable.from(chunks)
}

/** A body that sends `chunks` chunks of 64 KiB, then fails as a dropped connection would. */
function failingBody(chunks: number): Readable {
  let sent = 0
  return new Readable({
    read() {
      if (sent < chunks) {
        sent++
        this.push(Buffer.alloc(64 * 1024, 0x61))
      } else {
        this.destroy(new Error('the source connection was lost'))
      }
    },
  })
}

async function keysOf(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await listAll(store, prefix)).map((info) => info.key)
}

export function describeObjectStore(name: string, make: () => Promise<ObjectStoreFixture>): void {
  describe(name, () => {
    let fixture: ObjectStoreFixture
    let store: ObjectStore
    let scratch: string

    before(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'starline-contract-scratch-'))
    })

    after(async () => {
      await rm(scratch, { recursive: true, force: true })
    })

    beforeEach(async () => {
      fixture = await make()
      store = fixture.store
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    describe('put', () => {
      it('stores a string as UTF-8 and returns its size and sha256', async () => {
        const text = 'id,name\n1,Zoë 表 🙂\n'
        const bytes = Buffer.from(text, 'utf8')
        const info = await store.put('staff/one.csv', text)
        assert.deepEqual(info, { key: 'staff/one.csv', size: bytes.length, sha256: sha256(bytes) })
        assert.deepEqual(await store.getBytes('staff/one.csv'), bytes)
      })

      it('stores a Uint8Array byte for byte, every byte value included', async () => {
        const bytes = allByteValues()
        const info = await store.put('binary/all-bytes.bin', bytes)
        assert.equal(info.size, bytes.length)
        assert.equal(info.sha256, sha256(bytes))
        assert.deepEqual(new Uint8Array(await store.getBytes('binary/all-bytes.bin')), bytes)
      })

      it('stores only the bytes a Uint8Array view covers', async () => {
        const whole = allByteValues(1)
        const view = whole.subarray(10, 20)
        const info = await store.put('binary/view.bin', view)
        assert.equal(info.size, 10)
        assert.deepEqual(new Uint8Array(await store.getBytes('binary/view.bin')), whole.slice(10, 20))
      })

      it('stores a Readable of Buffers', async () => {
        const bytes = Buffer.from(allByteValues(8))
        const info = await store.put('binary/stream.bin', chunked(bytes, [1, 100, 7, 1000]))
        assert.equal(info.size, bytes.length)
        assert.equal(info.sha256, sha256(bytes))
        assert.deepEqual(await store.getBytes('binary/stream.bin'), bytes)
      })

      it('stores a Readable of strings as UTF-8', async () => {
        const parts = ['héllo', ', ', 'wörld ', '🙂']
        const bytes = Buffer.from(parts.join(''), 'utf8')
        const info = await store.put('text/parts.txt', Readable.from(parts))
        assert.equal(info.size, bytes.length)
        assert.equal(info.sha256, sha256(bytes))
        assert.deepEqual(await store.getBytes('text/parts.txt'), bytes)
      })

      it('streams a multi-megabyte Readable without changing a byte', async () => {
        // Past 5 MiB, so a backend that uploads in parts has to use more than one.
        const bytes = randomBytes(6 * 1024 * 1024 + 7)
        const info = await store.put('big/random.bin', chunked(bytes, [64 * 1024, 1, 300_001]))
        assert.equal(info.size, bytes.length)
        assert.equal(info.sha256, sha256(bytes))
        const back = await readAll(await store.get('big/random.bin'))
        assert.equal(back.length, bytes.length)
        assert.ok(back.equals(bytes), 'the streamed-back bytes differ from those put')
        assert.equal((await store.head('big/random.bin'))?.size, bytes.length)
      })

      it('stores an empty object', async () => {
        const info = await store.put('empty/nothing.csv', '')
        assert.deepEqual(info, { key: 'empty/nothing.csv', size: 0, sha256: sha256(new Uint8Array()) })
        assert.equal((await store.getBytes('empty/nothing.csv')).length, 0)
        assert.equal((await store.head('empty/nothing.csv'))?.size, 0)
      })

      it('refuses a key that already exists and keeps the original', async () => {
        await store.put('_manifests/run.json', '{"original":true}')
        await assert.rejects(store.put('_manifests/run.json', '{"original":false}'), ObjectExistsError)
        await assert.rejects(store.put('_manifests/run.json', Readable.from([Buffer.from('replacement')])), ObjectExistsError)
        await assert.rejects(store.put('_manifests/run.json', new Uint8Array([1, 2, 3])), ObjectExistsError)
        assert.equal((await store.getBytes('_manifests/run.json')).toString('utf8'), '{"original":true}')
        assert.deepEqual(await keysOf(store, ''), ['_manifests/run.json'])
      })

      it('names the existing key in the error', async () => {
        await store.put('a/b.csv', 'x')
        await assert.rejects(store.put('a/b.csv', 'y'), (error: unknown) => {
          assert.ok(error instanceof ObjectExistsError)
          assert.equal(error.context.key, 'a/b.csv')
          assert.match(error.message, /"a\/b\.csv"/)
          return true
        })
      })

      it('lets exactly one of two concurrent puts of the same key win', async () => {
        const results = await Promise.allSettled([
          store.put('_leases/extract.json', 'first'),
          store.put('_leases/extract.json', Readable.from([Buffer.from('second')])),
        ])
        const won = results.filter((r) => r.status === 'fulfilled')
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        assert.equal(won.length, 1)
        assert.equal(lost.length, 1)
        assert.ok(lost[0]!.reason instanceof ObjectExistsError, `the loser failed with ${String(lost[0]!.reason)}`)
        const content = (await store.getBytes('_leases/extract.json')).toString('utf8')
        assert.ok(content === 'first' || content === 'second', `the object holds ${JSON.stringify(content)}`)
      })

      it('leaves no object and no visible temporary file when the body fails midway', async () => {
        await store.put('sales_order/keep.csv', 'kept')
        await assert.rejects(store.put('sales_order/broken.csv', failingBody(4)))
        assert.equal(await store.head('sales_order/broken.csv'), undefined)
        await assert.rejects(store.getBytes('sales_order/broken.csv'), ObjectNotFoundError)
        assert.deepEqual(await keysOf(store, ''), ['sales_order/keep.csv'])
        // Nothing blocks a retry of the same key.
        await store.put('sales_order/broken.csv', 'retried')
        assert.equal((await store.getBytes('sales_order/broken.csv')).toString('utf8'), 'retried')
      })

      it('shows nothing of an object while it is still being written', async () => {
        let openGate!: () => void
        const gate = new Promise<void>((resolve) => (openGate = resolve))
        let blocked!: () => void
        const writing = new Promise<void>((resolve) => (blocked = resolve))
        let reads = 0
        // Enough chunks ahead of the pause that the backend has begun writing somewhere.
        const body = new Readable({
          read() {
            reads++
            if (reads <= 8) this.push(Buffer.alloc(64 * 1024, 0x62))
            else if (reads === 9) {
              blocked()
              void gate.then(() => this.push(null))
            }
          },
        })
        const put = store.put('slow/object.csv', body)
        await writing
        assert.equal(await store.head('slow/object.csv'), undefined)
        assert.deepEqual(await keysOf(store, ''), [])
        openGate()
        assert.equal((await put).size, 8 * 64 * 1024)
        assert.deepEqual(await keysOf(store, ''), ['slow/object.csv'])
      })

      it('leaves nothing behind when the body fails before its first byte', async () => {
        await assert.rejects(store.put('t/never.csv', failingBody(0)))
        assert.equal(await store.head('t/never.csv'), undefined)
        assert.deepEqual(await keysOf(store, ''), [])
      })
    })

    describe('get', () => {
      it('streams back the bytes that were put', async () => {
        const bytes = Buffer.from(allByteValues())
        await store.put('x/y.bin', bytes)
        assert.deepEqual(await readAll(await store.get('x/y.bin')), bytes)
      })

      it('rejects a missing key with ObjectNotFoundError before returning a stream', async () => {
        await assert.rejects(store.get('missing/key.csv'), (error: unknown) => {
          assert.ok(error instanceof ObjectNotFoundError)
          assert.equal(error.context.key, 'missing/key.csv')
          return true
        })
      })
    })

    describe('getBytes', () => {
      it('rejects a missing key with ObjectNotFoundError', async () => {
        await store.put('present.csv', 'x')
        await assert.rejects(store.getBytes('absent.csv'), ObjectNotFoundError)
      })
    })

    describe('head', () => {
      it('returns the key and size of an object', async () => {
        await store.put('dim/staff.parquet', 'twelve bytes')
        const info = await store.head('dim/staff.parquet')
        assert.equal(info?.key, 'dim/staff.parquet')
        assert.equal(info?.size, 12)
      })

      it('returns undefined for a missing key', async () => {
        assert.equal(await store.head('dim/none.parquet'), undefined)
      })
    })

    describe('keys that only prefix other keys', () => {
      // "sales_order" is no object when only "sales_order/..." exist, on any backend.
      beforeEach(async () => {
        await store.put('sales_order/2026/11/22/run.csv', 'x')
      })

      it('head returns undefined', async () => {
        assert.equal(await store.head('sales_order'), undefined)
        assert.equal(await store.head('sales_order/2026'), undefined)
      })

      it('get and getBytes reject with ObjectNotFoundError', async () => {
        await assert.rejects(store.get('sales_order/2026'), ObjectNotFoundError)
        await assert.rejects(store.getBytes('sales_order'), ObjectNotFoundError)
      })

      it('localPath rejects with ObjectNotFoundError', async () => {
        await assert.rejects(store.localPath('sales_order/2026/11', scratch), ObjectNotFoundError)
      })

      it('delete is a no-op that keeps the objects under it', async () => {
        await store.delete('sales_order/2026/11/22')
        assert.deepEqual(await keysOf(store, ''), ['sales_order/2026/11/22/run.csv'])
      })
    })

    describe('list', () => {
      const KEYS = [
        '_manifests/20261122T093000123Z.json',
        '_manifests/20261122T093000124Z.json',
        'sales_order/2026/11/22/20261122T093000123Z.csv',
        'sales_order/2026/11/23/20261123T000000000Z.csv',
        'sales_order_x/2026/11/22/20261122T093000123Z.csv',
        'sales.csv',
        'sales-report.csv',
        'staff/2026/11/22/20261122T093000123Z.csv',
        'a0',
        'a/b',
      ]
      const SORTED = [...KEYS].sort()

      beforeEach(async () => {
        // Put out of order: the listing order must not come from insertion order.
        for (const key of [...KEYS].reverse()) await store.put(key, key)
      })

      it('lists every key in sorted order for the empty prefix', async () => {
        assert.deepEqual(await keysOf(store, ''), SORTED)
      })

      it('reports the size of each object', async () => {
        for (const info of await listAll(store, '')) assert.equal(info.size, Buffer.byteLength(info.key), info.key)
      })

      it('lists only keys under a folder prefix, nested ones included', async () => {
        assert.deepEqual(await keysOf(store, 'sales_order/'), [
          'sales_order/2026/11/22/20261122T093000123Z.csv',
          'sales_order/2026/11/23/20261123T000000000Z.csv',
        ])
      })

      it('matches a prefix that ends inside a segment', async () => {
        assert.deepEqual(await keysOf(store, 'sales'), [
          'sales-report.csv',
          'sales.csv',
          'sales_order/2026/11/22/20261122T093000123Z.csv',
          'sales_order/2026/11/23/20261123T000000000Z.csv',
          'sales_order_x/2026/11/22/20261122T093000123Z.csv',
        ])
        assert.deepEqual(await keysOf(store, 'sales_order/2026/11/2'), [
          'sales_order/2026/11/22/20261122T093000123Z.csv',
          'sales_order/2026/11/23/20261123T000000000Z.csv',
        ])
        assert.deepEqual(await keysOf(store, '_manifests/20261122T093000124'), ['_manifests/20261122T093000124Z.json'])
      })

      it('lists only keys after startAfter, whether or not that key exists', async () => {
        const after = async (prefix: string, startAfter: string) => (await listAll(store, prefix, { startAfter })).map((info) => info.key)
        assert.deepEqual(await after('_manifests/', '_manifests/20261122T093000123Z.json'), ['_manifests/20261122T093000124Z.json'])
        assert.deepEqual(await after('_manifests/', '_manifests/20261122T093000124Z.json'), [])
        assert.deepEqual(await after('_manifests/', '_manifests/2026'), ['_manifests/20261122T093000123Z.json', '_manifests/20261122T093000124Z.json'])
        assert.deepEqual(await after('sales_order/', 'sales_order/2026/11/22/zzz'), ['sales_order/2026/11/23/20261123T000000000Z.csv'])
        assert.deepEqual(await after('', 'sales_order/2026/11/22/20261122T093000123Z.csv'), SORTED.filter((k) => k > 'sales_order/2026/11/22/20261122T093000123Z.csv'))
        assert.deepEqual(await after('', ''), SORTED)
      })

      it('matches a prefix equal to a whole key', async () => {
        assert.deepEqual(await keysOf(store, 'sales.csv'), ['sales.csv'])
      })

      it('lists nothing for a prefix no key has', async () => {
        assert.deepEqual(await keysOf(store, 'nothing/'), [])
        assert.deepEqual(await keysOf(store, 'sales_order/2027'), [])
        assert.deepEqual(await keysOf(store, 'staff/2026/11/22/20261122T093000123Z.csv.extra'), [])
      })

      it('lists nothing outside the store for a prefix that climbs out of it', async () => {
        for (const prefix of ['../', '/', './', 'sales_order/../']) {
          let keys: string[]
          try {
            keys = await keysOf(store, prefix)
          } catch (error) {
            assert.ok(error instanceof InvalidKeyError, `list(${JSON.stringify(prefix)}) failed with ${String(error)}`)
            continue
          }
          assert.deepEqual(keys, [], `list(${JSON.stringify(prefix)})`)
        }
      })

      it('stops listing a key once it is deleted', async () => {
        await store.delete('sales.csv')
        assert.deepEqual(await keysOf(store, 'sales.'), [])
      })
    })

    describe('delete', () => {
      it('removes an object', async () => {
        await store.put('_leases/transform.json', '{}')
        await store.delete('_leases/transform.json')
        assert.equal(await store.head('_leases/transform.json'), undefined)
        await assert.rejects(store.getBytes('_leases/transform.json'), ObjectNotFoundError)
      })

      it('removes only the given object', async () => {
        await store.put('t/a.csv', 'a')
        await store.put('t/ab.csv', 'ab')
        await store.delete('t/a.csv')
        assert.deepEqual(await keysOf(store, ''), ['t/ab.csv'])
      })

      it('accepts a missing key', async () => {
        await store.delete('never/put.csv')
        await store.put('once.csv', 'x')
        await store.delete('once.csv')
        await store.delete('once.csv')
        assert.deepEqual(await keysOf(store, ''), [])
      })

      it('frees the key for a new put', async () => {
        await store.put('_leases/extract.json', 'old')
        await store.delete('_leases/extract.json')
        await store.put('_leases/extract.json', 'new')
        assert.equal((await store.getBytes('_leases/extract.json')).toString('utf8'), 'new')
      })
    })

    describe('localPath', () => {
      it('returns a readable file holding the object', async () => {
        const bytes = Buffer.from(allByteValues())
        await store.put('fact/sales.parquet', bytes)
        const path = await store.localPath('fact/sales.parquet', scratch)
        assert.deepEqual(await readFile(path), bytes)
      })

      it('rejects a missing key with ObjectNotFoundError', async () => {
        await assert.rejects(store.localPath('fact/none.parquet', scratch), ObjectNotFoundError)
      })

      // The transform breaks ties between versions with one watermark by local path: it must follow run order.
      // (These two keys' hashes sort the other way round, so a name led by the hash fails.)
      it('gives paths that sort as the keys of successive runs do', async () => {
        const keys = ['sales_order/2026/11/22/20261122T103000000Z.csv', 'sales_order/2026/11/22/20261122T103100000Z.csv']
        for (const key of keys) await store.put(key, Buffer.from('x'))
        const [earlier, later] = [await store.localPath(keys[0]!, scratch), await store.localPath(keys[1]!, scratch)]
        assert.ok(earlier < later, `${earlier} should sort before ${later}`)
      })
    })

    describe('invalid keys', () => {
      it('put rejects them with InvalidKeyError and writes nothing', async () => {
        for (const key of INVALID_KEYS) {
          await assert.rejects(store.put(key, 'x'), InvalidKeyError, `put(${JSON.stringify(key)})`)
        }
        assert.deepEqual(await keysOf(store, ''), [])
      })

      it('get, getBytes, head, delete and localPath reject them with InvalidKeyError', async () => {
        await store.put('a/b', 'x')
        for (const key of INVALID_KEYS) {
          const label = JSON.stringify(key)
          await assert.rejects(store.get(key), InvalidKeyError, `get(${label})`)
          await assert.rejects(store.getBytes(key), InvalidKeyError, `getBytes(${label})`)
          await assert.rejects(store.head(key), InvalidKeyError, `head(${label})`)
          await assert.rejects(store.delete(key), InvalidKeyError, `delete(${label})`)
          await assert.rejects(store.localPath(key, scratch), InvalidKeyError, `localPath(${label})`)
        }
        assert.deepEqual(await keysOf(store, ''), ['a/b'])
      })
    })

    describe('getVersioned and replaceIf (compare-and-swap for leases)', () => {
      it('reads bytes with a version, and undefined for a missing key', async () => {
        await store.put('_leases/extract.json', 'one')
        const found = await store.getVersioned('_leases/extract.json')
        assert.equal(found?.bytes.toString('utf8'), 'one')
        assert.ok(found && found.version.length > 0)
        assert.equal(await store.getVersioned('_leases/missing.json'), undefined)
      })

      it('replaces an object read at the current version and returns the new version', async () => {
        await store.put('_leases/extract.json', 'one')
        const first = (await store.getVersioned('_leases/extract.json'))!
        const version = await store.replaceIf('_leases/extract.json', 'two', first.version)
        assert.ok(version !== undefined && version !== first.version)
        const now = await store.getVersioned('_leases/extract.json')
        assert.deepEqual(now, { bytes: Buffer.from('two'), version })
        assert.deepEqual(await keysOf(store, ''), ['_leases/extract.json'])
      })

      it('refuses a stale version and a missing object, writing nothing', async () => {
        await store.put('_leases/extract.json', 'one')
        const first = (await store.getVersioned('_leases/extract.json'))!
        await store.replaceIf('_leases/extract.json', 'two', first.version)
        assert.equal(await store.replaceIf('_leases/extract.json', 'three', first.version), undefined)
        assert.equal((await store.getBytes('_leases/extract.json')).toString('utf8'), 'two')
        assert.equal(await store.replaceIf('_leases/gone.json', 'x', first.version), undefined)
        assert.deepEqual(await keysOf(store, ''), ['_leases/extract.json'])
      })

      it('deletes an object only at the version it was read at', async () => {
        await store.put('_leases/extract.json', 'one')
        const first = (await store.getVersioned('_leases/extract.json'))!
        const second = (await store.replaceIf('_leases/extract.json', 'two', first.version))!
        assert.equal(await store.deleteIf('_leases/extract.json', first.version), false)
        assert.equal((await store.getBytes('_leases/extract.json')).toString('utf8'), 'two')
        assert.equal(await store.deleteIf('_leases/extract.json', second), true)
        assert.equal(await store.head('_leases/extract.json'), undefined)
        assert.equal(await store.deleteIf('_leases/extract.json', second), false)
        assert.deepEqual(await keysOf(store, ''), [])
      })

      it('lets exactly one of several concurrent swaps from the same version win', async () => {
        await store.put('_leases/extract.json', 'start')
        const { version } = (await store.getVersioned('_leases/extract.json'))!
        const bodies = ['a', 'b', 'c', 'd', 'e']
        const results = await Promise.all(bodies.map((body) => store.replaceIf('_leases/extract.json', body, version)))
        const winners = bodies.filter((_, i) => results[i] !== undefined)
        assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`)
        assert.equal((await store.getBytes('_leases/extract.json')).toString('utf8'), winners[0])
        assert.deepEqual(await keysOf(store, ''), ['_leases/extract.json'])
      })
    })

    describe('hostile but valid keys', () => {
      it('stores and lists keys with spaces, quotes, unicode and dots', async () => {
        const keys = ['with space/a b.csv', `quote'"/x.csv`, 'ünï/表/🙂.csv', '.hidden/..dots../x.csv', 'semi;colon/$1.csv']
        for (const key of keys) {
          await store.put(key, key)
          assert.equal((await store.getBytes(key)).toString('utf8'), key, key)
        }
        assert.deepEqual(new Set(await keysOf(store, '')), new Set(keys))
      })
    })
  })
}
