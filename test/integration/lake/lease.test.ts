import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import { LeaseHeldError } from '../../../src/lake/errors.js'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { leaseKey } from '../../../src/lake/keys.js'
import { acquireLease, type Lease, type LeaseRecord } from '../../../src/lake/lease.js'
import { listAll, type ObjectStore } from '../../../src/lake/object-store.js'

const STAGE = 'extract'
const KEY = leaseKey(STAGE)
const TTL_MS = 60_000
const NOW = new Date('2026-11-22T09:30:00.000Z')
const RUN_A = '20261122T093000000Z'
const RUN_B = '20261122T093100000Z'
const OTHER_HOST = `not-${hostname()}.example`

let dir: string
let zone = 0
let store: FsObjectStore
let deadPid: number

/** The pid of a process that has already exited. */
async function pidOfExitedProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  const pid = child.pid
  assert.ok(pid !== undefined, 'the child process did not start')
  await once(child, 'exit')
  return pid
}

function record(fields: Partial<LeaseRecord>): LeaseRecord {
  return {
    stage: STAGE,
    runId: RUN_A,
    host: hostname(),
    pid: process.pid,
    acquiredAt: new Date(NOW.getTime() - 1000).toISOString(),
    expiresAt: new Date(NOW.getTime() - 1000 + TTL_MS).toISOString(),
    ...fields,
  }
}

async function storedLease(target: ObjectStore = store): Promise<LeaseRecord | undefined> {
  if ((await target.head(KEY)) === undefined) return undefined
  return JSON.parse((await target.getBytes(KEY)).toString('utf8')) as LeaseRecord
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'starline-lease-'))
  deadPid = await pidOfExitedProcess()
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

beforeEach(() => {
  store = new FsObjectStore(join(dir, `zone-${++zone}`))
})

describe('acquireLease', () => {
  it('takes a free lease and records run, host, pid and expiry', async () => {
    const lease = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
    assert.deepEqual(lease.record, {
      stage: STAGE,
      runId: RUN_A,
      host: hostname(),
      pid: process.pid,
      acquiredAt: '2026-11-22T09:30:00.000Z',
      expiresAt: '2026-11-22T09:31:00.000Z',
    })
    assert.equal(lease.replaced, undefined)
    assert.deepEqual(await storedLease(), lease.record)
  })

  it('refuses a second runner while the lease is held, naming the holder', async () => {
    await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
    await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }), (error: unknown) => {
      assert.ok(error instanceof LeaseHeldError)
      assert.equal(error.retryable, true)
      assert.ok(error.message.includes(RUN_A), `message ${JSON.stringify(error.message)} does not name run ${RUN_A}`)
      assert.ok(error.message.includes(KEY), 'the message does not say which lease file to remove')
      return true
    })
    assert.equal((await storedLease())?.runId, RUN_A)
  })

  it('keeps leases of different stages apart', async () => {
    await acquireLease(store, 'extract', RUN_A, { ttlMs: TTL_MS, now: NOW })
    const transform = await acquireLease(store, 'transform', RUN_B, { ttlMs: TTL_MS, now: NOW })
    assert.equal(transform.record.stage, 'transform')
  })

  it('grants the lease again once it is released', async () => {
    const first = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
    await first.release()
    assert.equal(await store.head(KEY), undefined)
    const second = await acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
    assert.equal(second.record.runId, RUN_B)
    assert.equal(second.replaced, undefined)
    assert.equal((await storedLease())?.runId, RUN_B)
  })

  it('replaces a lease left by a dead process on this host and returns it as replaced', async () => {
    const dead = record({ pid: deadPid, runId: RUN_A })
    await store.put(KEY, JSON.stringify(dead))
    const lease = await acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
    assert.deepEqual(lease.replaced, dead)
    assert.equal(lease.record.runId, RUN_B)
    assert.deepEqual(await storedLease(), lease.record)
  })

  it('keeps a lease of a live process on this host even past its expiry', async () => {
    // On its own host a holder is judged by its process, which outlives any TTL guess.
    const alive = record({ pid: process.ppid, expiresAt: new Date(NOW.getTime() - TTL_MS).toISOString() })
    await store.put(KEY, JSON.stringify(alive))
    await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }), LeaseHeldError)
    assert.deepEqual(await storedLease(), alive)
  })

  it('replaces an expired lease from another host', async () => {
    const expired = record({ host: OTHER_HOST, pid: 1, expiresAt: new Date(NOW.getTime() - 1).toISOString() })
    await store.put(KEY, JSON.stringify(expired))
    const lease = await acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
    assert.deepEqual(lease.replaced, expired)
    assert.deepEqual(await storedLease(), lease.record)
  })

  it('keeps an unexpired lease from another host', async () => {
    // Its pid is dead here, which says nothing about a process on another host.
    const live = record({ host: OTHER_HOST, pid: deadPid, expiresAt: new Date(NOW.getTime() + 1).toISOString() })
    await store.put(KEY, JSON.stringify(live))
    await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }), (error: unknown) => {
      assert.ok(error instanceof LeaseHeldError)
      assert.ok(error.message.includes(RUN_A))
      assert.ok(error.message.includes(OTHER_HOST))
      return true
    })
    assert.deepEqual(await storedLease(), live)
  })

  it('treats a torn or garbage lease file as stale', async () => {
    for (const content of ['', '{"stage":"extract","runId":"2026', 'garbage', '\u0000\u0001\u0002']) {
      const zoneStore = new FsObjectStore(join(dir, `zone-${++zone}`))
      await zoneStore.put(KEY, content)
      const lease = await acquireLease(zoneStore, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
      assert.equal(lease.record.runId, RUN_B, `over ${JSON.stringify(content)}`)
      assert.equal(lease.replaced, undefined, `over ${JSON.stringify(content)}`)
      assert.deepEqual(await storedLease(zoneStore), lease.record)
    }
  })

  it('treats a lease file that is valid JSON but no lease record as stale', async () => {
    // A JSON value without host, pid and expiry names no holder that could still be alive.
    for (const content of ['null', '{}', '[]', '42', '"extract"']) {
      const zoneStore = new FsObjectStore(join(dir, `zone-${++zone}`))
      await zoneStore.put(KEY, content)
      const lease = await acquireLease(zoneStore, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }).catch((error: unknown) => {
        assert.fail(`acquiring over ${content} failed: ${String(error)}`)
      })
      assert.equal(lease.record.runId, RUN_B)
    }
  })

  it('gives the lease to only one of two runners replacing the same stale lease', async () => {
    await store.put(KEY, JSON.stringify(record({ pid: deadPid })))
    // Runner B has read the stale lease and is about to remove it when runner A arrives.
    let openGate!: () => void
    const gate = new Promise<void>((resolve) => (openGate = resolve))
    let deleteRequested!: () => void
    const requested = new Promise<void>((resolve) => (deleteRequested = resolve))
    const slowStore: ObjectStore = {
      root: store.root,
      put: (key, body) => store.put(key, body),
      get: (key) => store.get(key),
      getBytes: (key) => store.getBytes(key),
      head: (key) => store.head(key),
      list: (prefix) => store.list(prefix),
      localPath: (key, scratch) => store.localPath(key, scratch),
      delete: async (key) => {
        deleteRequested()
        await gate
        return store.delete(key)
      },
    }
    const runnerB = acquireLease(slowStore, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
    const first = await Promise.race([requested.then(() => 'delete'), runnerB.then(() => 'acquired', () => 'failed')])
    assert.equal(first, 'delete', 'runner B never came to remove the stale lease')
    const outcomeA = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW }).catch((error: unknown) => error)
    openGate()
    const outcomeB = await runnerB.catch((error: unknown) => error)
    const holders = [outcomeA, outcomeB].filter((outcome): outcome is Lease => !(outcome instanceof Error))
    const refused = [outcomeA, outcomeB].filter((outcome) => outcome instanceof Error)
    assert.ok(holders.length < 2, `both runners hold the lease: runs ${holders.map((lease) => lease.record.runId).join(' and ')}`)
    assert.equal(holders.length, 1, `neither runner holds the lease: ${refused.map(String).join('; ')}`)
    assert.ok(refused[0] instanceof LeaseHeldError, `the other runner failed with ${String(refused[0])}`)
    assert.deepEqual(await storedLease(), holders[0]!.record)
  })
})

describe('Lease.release', () => {
  it('removes the lease file', async () => {
    const lease = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
    await lease.release()
    assert.deepEqual(await listAll(store, ''), [])
  })

  it('knows when another runner has taken the lease over', async () => {
    const mine = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
    assert.equal(await mine.isHeld(), true)
    await store.delete(KEY)
    await store.put(KEY, JSON.stringify(record({ runId: RUN_B, host: OTHER_HOST, pid: 4242 })))
    assert.equal(await mine.isHeld(), false)
  })

  it('leaves alone a lease that another runner has since taken over', async () => {
    const mine = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
    // As after this runner overran its TTL and a runner on another host replaced its lease.
    const theirs = record({ runId: RUN_B, host: OTHER_HOST, pid: 4242, expiresAt: new Date(NOW.getTime() + 2 * TTL_MS).toISOString() })
    await store.delete(KEY)
    await store.put(KEY, JSON.stringify(theirs))
    await mine.release()
    assert.deepEqual(await storedLease(), theirs)
  })
})
