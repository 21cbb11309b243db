/**
 * What a lease write killed midway leaves under `_leases/` (a claim, its
 * token, the replacement bytes, a claim moved aside, a put's bytes) never
 * blocks the next runner and never stays: the next claim holder of the key
 * removes the files of dead writers, and a waiter whose files were removed
 * writes them again.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { link, mkdtemp, readdir, rm, unlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { currentProcess, ownerTag, startTicksOf, type ProcessIdentity } from '../../../src/core/process-identity.js'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'

const PREFIX = '.starline-tmp-'
/** Long enough that only an owner judged dead, not an old claim, can explain a claim being broken. */
const NEVER_STALE_MS = 10 * 60_000
let dir: string
let deadPid: number

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'starline-swap-leftovers-'))
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  deadPid = child.pid!
})
after(() => rm(dir, { recursive: true, force: true }))

async function leaseIn(name: string): Promise<{ root: string; leases: string; store: FsObjectStore; version: string }> {
  const root = join(dir, name)
  const store = new FsObjectStore(root, { staleClaimMs: NEVER_STALE_MS })
  await store.put('_leases/extract.json', 'lease')
  const { version } = (await store.getVersioned('_leases/extract.json'))!
  return { root, leases: join(root, '_leases'), store, version }
}

function leftover(kind: string, base: string, owner: ProcessIdentity, random = '0123456789ab'): string {
  return `${PREFIX}${kind}-${base}.${ownerTag(owner)}.${random}`
}

async function namesIn(path: string): Promise<string[]> {
  return (await readdir(path)).sort()
}

describe('FsObjectStore swap leftovers', () => {
  it('breaks a fresh claim whose owner is dead at once and removes every file that owner left for the key', async () => {
    const { leases, store, version } = await leaseIn('dead-owner')
    const dead = { ...currentProcess(), pid: deadPid }
    const token = leftover('token', 'extract.json', dead)
    await writeFile(join(leases, token), JSON.stringify(dead))
    // Killed between taking the claim and dropping it: the claim is a link to its token, made a moment ago.
    await link(join(leases, token), join(leases, `${PREFIX}claim-extract.json`))
    for (const kind of ['replace', 'aside', 'put']) await writeFile(join(leases, leftover(kind, 'extract.json', dead)), 'x')
    // Another key's leftovers, and a key whose name extends this one: not this swap's to judge.
    const others = [leftover('token', 'transform.json', dead), leftover('token', 'extract.json.old', dead)]
    for (const name of others) await writeFile(join(leases, name), 'x')
    // A live writer's (this process's) stays.
    const live = leftover('replace', 'extract.json', currentProcess(), 'ba9876543210')
    await writeFile(join(leases, live), 'x')

    const renewed = await store.replaceIf('_leases/extract.json', 'renewed', version)
    assert.ok(renewed !== undefined, 'the dead claim blocked the swap')
    assert.deepEqual(await namesIn(leases), ['extract.json', ...others, live].sort())
    assert.equal(await store.deleteIf('_leases/extract.json', renewed), true)
  })

  it('keeps a live owner\'s claim until it drops it, and breaks one whose pid now belongs to another process', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
    const { leases, store, version } = await leaseIn('live-owner')
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' })
    try {
      const owner = { ...currentProcess(), pid: sleeper.pid!, startTicks: startTicksOf(sleeper.pid!)! }
      const token = leftover('token', 'extract.json', owner)
      await writeFile(join(leases, token), JSON.stringify(owner))
      await link(join(leases, token), join(leases, `${PREFIX}claim-extract.json`))
      let settled = false
      const swap = store.replaceIf('_leases/extract.json', 'second', version).finally(() => (settled = true))
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(settled, false, 'a live owner\'s claim was broken')
      await unlink(join(leases, `${PREFIX}claim-extract.json`))
      await unlink(join(leases, token))
      const second = await swap
      assert.ok(second !== undefined)

      // The same pid, started at another time: its process is not the owner, which is gone.
      const reused = { ...owner, startTicks: String(Number(owner.startTicks) + 1) }
      const reusedToken = leftover('token', 'extract.json', reused)
      await writeFile(join(leases, reusedToken), JSON.stringify(reused))
      await link(join(leases, reusedToken), join(leases, `${PREFIX}claim-extract.json`))
      assert.ok((await store.replaceIf('_leases/extract.json', 'third', second)) !== undefined)
      assert.deepEqual(await namesIn(leases), ['extract.json'])
    } finally {
      sleeper.kill()
    }
  })

  it('removes leftovers whose owner cannot be checked only once they are older than the bound', async () => {
    const root = join(dir, 'unknown-owner')
    const store = new FsObjectStore(root, { staleClaimMs: NEVER_STALE_MS, deadTempMs: 60_000 })
    await store.put('_leases/extract.json', 'lease')
    const leases = join(root, '_leases')
    const elsewhere = { ...currentProcess(), pidNamespace: 'pid:[1]', pid: deadPid }
    const oldOnes = [leftover('token', 'extract.json', elsewhere), `${PREFIX}0123456789ab`]
    const fresh = leftover('replace', 'extract.json', elsewhere)
    for (const name of [...oldOnes, fresh]) await writeFile(join(leases, name), 'x')
    const hourAgo = new Date(Date.now() - 3600_000)
    for (const name of oldOnes) await utimes(join(leases, name), hourAgo, hourAgo)
    const { version } = (await store.getVersioned('_leases/extract.json'))!
    assert.ok((await store.replaceIf('_leases/extract.json', 'renewed', version)) !== undefined)
    assert.deepEqual(await namesIn(leases), ['extract.json', fresh].sort())
  })

  it('writes its token and replacement bytes again when they are removed while it waits for the claim', async () => {
    const { leases, store, version } = await leaseIn('waiter')
    const holder = leftover('token', 'extract.json', currentProcess(), 'aaaaaaaaaaaa')
    await writeFile(join(leases, holder), JSON.stringify(currentProcess()))
    await link(join(leases, holder), join(leases, `${PREFIX}claim-extract.json`))
    const swap = store.replaceIf('_leases/extract.json', 'renewed', version)
    let waiterFiles: string[] = []
    for (let i = 0; i < 400 && waiterFiles.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      waiterFiles = (await readdir(leases)).filter((name) => name !== holder && /^\.starline-tmp-(token|replace)-/.test(name))
    }
    assert.equal(waiterFiles.length, 2, 'the waiter wrote a token and its replacement bytes')
    // What a claim holder that misjudged the waiter dead (or an operator) does: remove them.
    for (const name of waiterFiles) await unlink(join(leases, name))
    await new Promise((resolve) => setTimeout(resolve, 20))
    await unlink(join(leases, `${PREFIX}claim-extract.json`))
    await unlink(join(leases, holder))
    const renewed = await swap
    assert.ok(renewed !== undefined, 'the waiter gave up')
    assert.equal((await store.getBytes('_leases/extract.json')).toString(), 'renewed')
    assert.deepEqual(await namesIn(leases), ['extract.json'])
  })
})
