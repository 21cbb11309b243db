import assert from 'node:assert/strict'
import { link, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { whileClaimed } from '../../../src/lake/fs/fs-swap.js'
import { describeObjectStore } from './object-store-contract.js'

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'starline-fs-store-'))
}

describeObjectStore('FsObjectStore', async () => {
  const dir = await tempDir()
  // The root sits one level down, with a neighbour, so a listing that escapes the root has something to find.
  await writeFile(join(dir, 'outside.txt'), 'not in the store')
  return {
    store: new FsObjectStore(join(dir, 'lake')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
})

/** Every file under `dir`, as relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort()
}

describe('FsObjectStore on disk', () => {
  let dir: string

  before(async () => {
    dir = await tempDir()
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('accepts a file URL or an absolute path and reports a file URL as root', () => {
    const path = join(dir, 'zone')
    assert.equal(new FsObjectStore(path).root, pathToFileURL(path).href)
    assert.equal(new FsObjectStore(pathToFileURL(path).href).root, pathToFileURL(path).href)
  })

  it('writes an object to the file its key names', async () => {
    const store = new FsObjectStore(join(dir, 'layout'))
    await store.put('sales_order/2026/11/22/run.csv', 'x')
    assert.deepEqual(await filesUnder(join(dir, 'layout')), [join('sales_order', '2026', '11', '22', 'run.csv')])
    assert.equal(await store.localPath('sales_order/2026/11/22/run.csv', dir), join(dir, 'layout', 'sales_order', '2026', '11', '22', 'run.csv'))
  })

  it('removes its temporary file from disk when a put fails', async () => {
    const root = join(dir, 'failed')
    const store = new FsObjectStore(root)
    let sent = 0
    const body = new Readable({
      read() {
        if (sent++ < 3) this.push(Buffer.alloc(1024, 1))
        else this.destroy(new Error('the source connection was lost'))
      },
    })
    await assert.rejects(store.put('t/broken.csv', body), /the source connection was lost/)
    assert.deepEqual(await filesUnder(root), [])
  })

  it("removes, with a key, the temporary files of its killed puts, also those named by earlier versions", async () => {
    const root = join(dir, 'leftovers')
    const store = new FsObjectStore(root)
    await store.put('t/x.parquet', 'x')
    await writeFile(join(root, 't', '.starline-tmp-put-x.parquet.0123456789ab'), 'partial')
    await writeFile(join(root, 't', '.starline-tmp-put-x.parquet.old.0123456789ab'), 'another key')
    await store.delete('t/x.parquet')
    assert.deepEqual(await filesUnder(root), [join('t', '.starline-tmp-put-x.parquet.old.0123456789ab')])
  })

  it('removes its temporary file from disk when the key already exists', async () => {
    const root = join(dir, 'exists')
    const store = new FsObjectStore(root)
    await store.put('t/a.csv', 'a')
    await assert.rejects(store.put('t/a.csv', 'b'))
    assert.deepEqual(await filesUnder(root), [join('t', 'a.csv')])
  })

  it('breaks a swap claim left by a killed process, so the lease can still be renewed and released', async () => {
    const root = join(dir, 'claimed')
    const store = new FsObjectStore(root, { staleClaimMs: 200 })
    await store.put('_leases/extract.json', 'mine')
    const { version } = (await store.getVersioned('_leases/extract.json'))!
    // What a kill between taking the claim and dropping it leaves: a hidden hard link next to the lease.
    await link(join(root, '_leases', 'extract.json'), join(root, '_leases', '.starline-tmp-claim-extract.json'))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const renewed = await store.replaceIf('_leases/extract.json', 'renewed', version)
    assert.ok(renewed !== undefined, 'the swap was blocked by the stale claim')
    assert.equal(await store.deleteIf('_leases/extract.json', renewed), true)
    assert.deepEqual(await filesUnder(root), [])
  })
  it('leaves the claim of the next owner when a stalled owner whose claim was broken finishes', async () => {
    const root = join(dir, 'stalled')
    await new FsObjectStore(root).put('_leases/extract.json', 'lease')
    const target = join(root, '_leases', 'extract.json')
    const claim = join(root, '_leases', '.starline-tmp-claim-extract.json')
    const { version } = (await new FsObjectStore(root).getVersioned('_leases/extract.json'))!
    const options = { hiddenPrefix: '.starline-tmp-', staleClaimMs: 100 }
    let releaseA!: () => void
    const stalled = new Promise<void>((resolve) => (releaseA = resolve))
    let bInside!: () => void
    const bEntered = new Promise<void>((resolve) => (bInside = resolve))
    let releaseB!: () => void
    const bHeld = new Promise<void>((resolve) => (releaseB = resolve))
    // Owner A stalls inside its claim past the stale age; owner B breaks it and takes the claim.
    const a = whileClaimed(target, version, options, () => stalled)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const b = whileClaimed(target, version, options, async () => {
      bInside()
      await bHeld
    })
    await bEntered
    releaseA()
    assert.equal(await a, true)
    const claimStat = await stat(claim).catch(() => undefined)
    assert.ok(claimStat !== undefined, "owner A deleted owner B's claim while B still held it")
    releaseB()
    assert.equal(await b, true)
    assert.deepEqual(await filesUnder(root), [join('_leases', 'extract.json')])
  })
})
