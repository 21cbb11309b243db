import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import type { S3Client } from '@aws-sdk/client-s3'
import { currentProcess } from '../../../src/core/process-identity.js'
import { LeaseHeldError, ObjectExistsError } from '../../../src/lake/errors.js'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { leaseKey } from '../../../src/lake/keys.js'
import { acquireLease, type Lease, type LeaseRecord } from '../../../src/lake/lease.js'
import { listAll, type ObjectStore } from '../../../src/lake/object-store.js'
import { S3ObjectStore } from '../../../src/lake/s3/s3-object-store.js'
import { MOTO_MISSING, startMoto, useEnv, type MotoServer } from '../../support/moto-server.js'
import { motoClient, newBucket } from '../../support/s3-test-client.js'

const STAGE = 'extract'
const KEY = leaseKey(STAGE)
const TTL_MS = 60_000
const NOW = new Date('2026-11-22T09:30:00.000Z')
const RUN_A = '20261122T093000000Z'
const RUN_B = '20261122T093100000Z'
const OTHER_HOST = `not-${hostname()}.example`

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

let dir: string
let deadPid: number
let moto: MotoServer | undefined
let client: S3Client | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'starline-lease-'))
  deadPid = await pidOfExitedProcess()
  if (!MOTO_MISSING) {
    moto = await startMoto()
    client = motoClient(moto)
  }
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
  client?.destroy()
  await moto?.stop()
})

let zone = 0
describeLeases('on the filesystem', async () => new FsObjectStore(join(dir, `zone-${++zone}`)))

let bucket: string | undefined
if (MOTO_MISSING) {
  describe('leases on S3', { skip: MOTO_MISSING }, () => {})
} else {
  describeLeases('on S3', async () => {
    bucket ??= await newBucket(client!, 'starline-lease')
    return new S3ObjectStore(`s3://${bucket}/zone-${++zone}`, {
      client: client!,
    })
  })
}

function describeLeases(backend: string, newStore: () => Promise<ObjectStore>): void {
  describe(`leases ${backend}`, () => {
    let store: ObjectStore

    async function storedLease(target: ObjectStore = store): Promise<LeaseRecord | undefined> {
      if ((await target.head(KEY)) === undefined) return undefined
      return JSON.parse((await target.getBytes(KEY)).toString('utf8')) as LeaseRecord
    }

    beforeEach(async () => {
      store = await newStore()
    })

    describe('acquireLease', () => {
      it('takes a free lease and records run, host, pid and expiry', async () => {
        const lease = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.deepEqual(lease.record, {
          stage: STAGE,
          runId: RUN_A,
          host: hostname(),
          pid: process.pid,
          ...(currentProcess().pidNamespace ? { pidNamespace: currentProcess().pidNamespace } : {}),
          ...(currentProcess().bootId ? { bootId: currentProcess().bootId } : {}),
          ...(currentProcess().startTicks ? { startTicks: currentProcess().startTicks } : {}),
          acquiredAt: '2026-11-22T09:30:00.000Z',
          expiresAt: '2026-11-22T09:31:00.000Z',
          nonce: lease.record.nonce,
        })
        assert.match(lease.record.nonce ?? '', /^[0-9a-f]{16}$/)
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
        await acquireLease(store, 'extract', RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        const transform = await acquireLease(store, 'transform', RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.equal(transform.record.stage, 'transform')
      })

      it('grants the lease again once it is released', async () => {
        const first = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        await first.release()
        assert.equal(await store.head(KEY), undefined)
        const second = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.equal(second.record.runId, RUN_B)
        assert.equal(second.replaced, undefined)
        assert.equal((await storedLease())?.runId, RUN_B)
      })

      it('replaces a lease left by a dead process on this host and returns it as replaced', async () => {
        const dead = record({ pid: deadPid, runId: RUN_A })
        await store.put(KEY, JSON.stringify(dead))
        const lease = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.deepEqual(lease.replaced, dead)
        assert.equal(lease.record.runId, RUN_B)
        assert.deepEqual(await storedLease(), lease.record)
      })

      it('replaces an expired lease on this host even when its pid is alive (a reused pid, pid 1 in containers)', async () => {
        // Holders renew while they work, so an expired lease is a dead holder's, whatever its pid now is.
        const expired = record({
          pid: process.ppid,
          expiresAt: new Date(NOW.getTime() - TTL_MS).toISOString(),
        })
        await store.put(KEY, JSON.stringify(expired))
        const lease = await acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
        assert.equal(lease.replaced?.runId, expired.runId)
        assert.equal((await storedLease())?.runId, RUN_B)
      })

      it('keeps an unexpired lease whose pid is gone here but was taken in another pid namespace (a container sharing the host name)', async () => {
        const elsewhere = record({ pid: deadPid, pidNamespace: 'pid:[4026599999]', bootId: currentProcess().bootId ?? 'b', startTicks: '1' })
        await store.put(KEY, JSON.stringify(elsewhere))
        await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }), LeaseHeldError)
        assert.deepEqual(await storedLease(), elsewhere)
      })

      it('records where its holder runs, and a holder in this namespace whose pid is gone is replaced', async () => {
        const lease = await acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW })
        assert.equal(lease.record.pidNamespace, currentProcess().pidNamespace)
        await store.delete(KEY)
        const dead = record({ pid: deadPid, ...(currentProcess().pidNamespace ? { pidNamespace: currentProcess().pidNamespace } : {}), ...(currentProcess().bootId ? { bootId: currentProcess().bootId } : {}) })
        await store.put(KEY, JSON.stringify(dead))
        const next = await acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
        assert.deepEqual(next.replaced, dead)
      })

      it('keeps an unexpired lease of a live process on this host', async () => {
        const alive = record({ pid: process.ppid, expiresAt: new Date(NOW.getTime() + TTL_MS).toISOString() })
        await store.put(KEY, JSON.stringify(alive))
        await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }), LeaseHeldError)
        assert.deepEqual(await storedLease(), alive)
      })

      it('replaces an expired lease from another host', async () => {
        const expired = record({
          host: OTHER_HOST,
          pid: 1,
          expiresAt: new Date(NOW.getTime() - 1).toISOString(),
        })
        await store.put(KEY, JSON.stringify(expired))
        const lease = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.deepEqual(lease.replaced, expired)
        assert.deepEqual(await storedLease(), lease.record)
      })

      it('keeps an unexpired lease from another host', async () => {
        // Its pid is dead here, which says nothing about a process on another host.
        const live = record({
          host: OTHER_HOST,
          pid: deadPid,
          expiresAt: new Date(NOW.getTime() + 1).toISOString(),
        })
        await store.put(KEY, JSON.stringify(live))
        await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW }), (error: unknown) => {
          assert.ok(error instanceof LeaseHeldError)
          assert.ok(error.message.includes(RUN_A))
          assert.ok(error.message.includes(OTHER_HOST))
          return true
        })
        assert.deepEqual(await storedLease(), live)
      })

      it('names a Lambda sandbox by its log stream and judges its leases by expiry alone', async () => {
      const undo = useEnv({ AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/22/[$LATEST]abc123', AWS_LAMBDA_FUNCTION_NAME: 'starline-transform' })
      try {
        // Sandboxes share host names and pids: another sandbox's lapsed lease with this very pid is stale.
        const lapsed = record({ host: 'lambda:starline-transform:2026/11/22/[$LATEST]other', expiresAt: new Date(NOW.getTime() - 1).toISOString() })
        await store.put(KEY, JSON.stringify(lapsed))
        const lease = await acquireLease(store, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
        assert.equal(lease.record.host, 'lambda:starline-transform:2026/11/22/[$LATEST]abc123')
        assert.deepEqual(lease.replaced, lapsed)
        // Even its own sandbox's lease is judged by expiry: an unexpired one is kept.
        await assert.rejects(acquireLease(store, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW }), LeaseHeldError)
      } finally {
        undo()
      }
    })

    it('treats a torn or garbage lease file as stale', async () => {
        for (const content of ['', '{"stage":"extract","runId":"2026', 'garbage', '\u0000\u0001\u0002']) {
          const zoneStore = await newStore()
          await zoneStore.put(KEY, content)
          const lease = await acquireLease(zoneStore, STAGE, RUN_B, {
            ttlMs: TTL_MS,
            now: NOW,
          })
          assert.equal(lease.record.runId, RUN_B, `over ${JSON.stringify(content)}`)
          assert.equal(lease.replaced, undefined, `over ${JSON.stringify(content)}`)
          assert.deepEqual(await storedLease(zoneStore), lease.record)
        }
      })

      it('treats a lease file that is valid JSON but no lease record as stale', async () => {
        // A JSON value without host, pid and expiry names no holder that could still be alive.
        for (const content of ['null', '{}', '[]', '42', '"extract"']) {
          const zoneStore = await newStore()
          await zoneStore.put(KEY, content)
          const lease = await acquireLease(zoneStore, STAGE, RUN_B, {
            ttlMs: TTL_MS,
            now: NOW,
          }).catch((error: unknown) => {
            assert.fail(`acquiring over ${content} failed: ${String(error)}`)
          })
          assert.equal(lease.record.runId, RUN_B)
        }
      })

      it('gives the lease to only one of two runners replacing the same stale lease', async () => {
        await store.put(KEY, JSON.stringify(record({ pid: deadPid })))
        // Runner B has read the stale lease and is about to swap it out when runner A arrives and swaps first.
        let openGate!: () => void
        const gate = new Promise<void>((resolve) => (openGate = resolve))
        let swapRequested!: () => void
        const requested = new Promise<void>((resolve) => (swapRequested = resolve))
        const slowStore: ObjectStore = {
        root: store.root,
        put: (key, body) => store.put(key, body),
        get: (key) => store.get(key),
        getBytes: (key) => store.getBytes(key),
        getVersioned: (key) => store.getVersioned(key),
        head: (key) => store.head(key),
        list: (prefix) => store.list(prefix),
        localPath: (key, scratch) => store.localPath(key, scratch),
        delete: (key) => store.delete(key),
        deleteIf: (key, version) => store.deleteIf(key, version),
        replaceIf: async (key, body, version) => {
          swapRequested()
          await gate
          return store.replaceIf(key, body, version)
        },
      }
        const runnerB = acquireLease(slowStore, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        const first = await Promise.race([
          requested.then(() => 'swap'),
          runnerB.then(
            () => 'acquired',
            () => 'failed',
          ),
        ])
        assert.equal(first, 'swap', 'runner B never came to replace the stale lease')
        const outcomeA = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
        }).catch((error: unknown) => error)
        openGate()
        const outcomeB = await runnerB.catch((error: unknown) => error)
        const holders = [outcomeA, outcomeB].filter((outcome): outcome is Lease => !(outcome instanceof Error))
        const refused = [outcomeA, outcomeB].filter((outcome) => outcome instanceof Error)
        assert.ok(holders.length < 2, `both runners hold the lease: runs ${holders.map((lease) => lease.record.runId).join(' and ')}`)
        assert.equal(holders.length, 1, `neither runner holds the lease: ${refused.map(String).join('; ')}`)
        assert.ok(refused[0] instanceof LeaseHeldError, `the other runner failed with ${String(refused[0])}`)
        assert.deepEqual(await storedLease(), holders[0]!.record)
      })

      it('gives the lease to exactly one of several runners replacing the same stale lease at once', async () => {
        await store.put(KEY, JSON.stringify(record({ pid: deadPid })))
        const runs = ['20261122T093101000Z', '20261122T093102000Z', '20261122T093103000Z', '20261122T093104000Z', '20261122T093105000Z']
        const outcomes = await Promise.allSettled(runs.map((runId) => acquireLease(store, STAGE, runId, { ttlMs: TTL_MS, now: NOW })))
        const holders = outcomes.filter((o): o is PromiseFulfilledResult<Lease> => o.status === 'fulfilled').map((o) => o.value)
        assert.equal(holders.length, 1, `runs holding the lease: ${holders.map((l) => l.record.runId).join(', ')}`)
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof LeaseHeldError, String(outcome.reason))
        }
        assert.deepEqual(await storedLease(), holders[0]!.record)
      })

      it('takes over a stale lease despite the takeover claim a killed runner left, and clears the claim', async () => {
        // Earlier versions claimed a takeover with an object named after the stale lease's bytes; a kill left it behind.
        const dead = JSON.stringify(record({ pid: deadPid }))
        await store.put(KEY, dead)
        await store.put(`${KEY}.takeover-${createHash('sha256').update(dead).digest('hex').slice(0, 16)}`, dead)
        const lease = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.equal(lease.replaced?.runId, RUN_A)
        assert.deepEqual(
          (await listAll(store, '')).map((o) => o.key),
          [KEY],
        )
      })

      it('takes a free lease despite a takeover claim left without a lease', async () => {
        await store.put(`${KEY}.takeover-0123456789abcdef`, JSON.stringify(record({ pid: deadPid })))
        const lease = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        assert.equal(lease.record.runId, RUN_B)
        assert.deepEqual(await storedLease(), lease.record)
      })
    })

    describe('renewal', () => {
      const A = { host: `a-${OTHER_HOST}`, pid: 4242 }
      const B = { host: `b-${OTHER_HOST}`, pid: 4343 }
      const at = (ms: number) => new Date(NOW.getTime() + ms)

      it('keeps a renewed lease from being taken over past its first expiry', async () => {
        let clock = at(TTL_MS - 10_000)
        const lease = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
          holder: A,
          clock: () => clock,
        })
        assert.equal(await lease.renew(at(TTL_MS - 10_000)), true)
        assert.equal((await storedLease())?.expiresAt, at(2 * TTL_MS - 10_000).toISOString())
        // Past the first expiry a runner elsewhere would take an unrenewed lease over; this one is still held.
        await assert.rejects(
          acquireLease(store, STAGE, RUN_B, {
            ttlMs: TTL_MS,
            now: at(TTL_MS + 5_000),
            holder: B,
          }),
          LeaseHeldError,
        )
        clock = at(TTL_MS + 5_000)
        assert.equal(await lease.isHeld(), true)
        assert.equal(await lease.renew(at(TTL_MS + 20_000)), true)
        assert.equal((await storedLease())?.runId, RUN_A)
      })

      it('reports the lease lost once a lapsed lease has been taken over, and writes nothing', async () => {
        const lease = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
          holder: A,
        })
        const other = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: at(TTL_MS + 1),
          holder: B,
        })
        assert.equal(other.replaced?.runId, RUN_A)
        assert.equal(await lease.renew(at(TTL_MS + 2)), false)
        assert.equal(await lease.isHeld(), false)
        await lease.release()
        assert.deepEqual(await storedLease(), other.record)
      })

      it('renews in the background so a run longer than the time to live keeps its lease', async () => {
        const ttlMs = 1500
        const lease = await acquireLease(store, STAGE, RUN_A, {
          ttlMs,
          holder: A,
        })
        const errors: unknown[] = []
        lease.startRenewal({
          intervalMs: 100,
          onError: (error) => errors.push(error),
        })
        try {
          await new Promise((resolve) => setTimeout(resolve, 2 * ttlMs))
          // Twice the time to live has passed: without renewal the lease would have lapsed.
          await assert.rejects(acquireLease(store, STAGE, RUN_B, { ttlMs, holder: B }), LeaseHeldError)
          const stored = await storedLease()
          assert.ok(stored?.renewedAt !== undefined, 'the stored lease was never renewed')
          assert.ok(Date.parse(stored.expiresAt) > Date.parse(lease.record.expiresAt), 'the expiry did not move')
          assert.equal(await lease.isHeld(), true)
        } finally {
          await lease.release()
        }
        assert.deepEqual(errors, [])
        assert.equal(await storedLease(), undefined)
      })

      it('stops renewing and says so when the lease is taken over', async () => {
        const lease = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
          holder: A,
        })
        const other = await acquireLease(store, STAGE, RUN_B, {
          ttlMs: TTL_MS,
          now: at(TTL_MS + 1),
          holder: B,
        })
        // The renewal timer is unref'd (it never keeps a finished process alive), so a
        // ref'd deadline keeps the test's event loop alive while it waits for the loss.
        let deadline: NodeJS.Timeout | undefined
        const lost = new Promise<void>((resolve, reject) => {
          deadline = setTimeout(() => reject(new Error('renewal never reported the lease lost')), 10_000)
          lease.startRenewal({ intervalMs: 20, onLost: resolve })
        })
        await lost.finally(() => clearTimeout(deadline))
        assert.equal(await lease.isHeld(), false)
        await lease.release()
        assert.deepEqual(await storedLease(), other.record)
      })
    })

    describe('a lease under failing or answerless writes', () => {
      const A = { host: `a-${OTHER_HOST}`, pid: 4242 }
      const at = (ms: number) => new Date(NOW.getTime() + ms)

      /** `store`, with its lease writes changed by `replaceIf` / `put` (the real store underneath). */
      function wrapped(overrides: Partial<Pick<ObjectStore, 'put' | 'replaceIf'>>): ObjectStore {
        return {
          root: store.root,
          put: overrides.put ?? ((key, body) => store.put(key, body)),
          get: (key) => store.get(key),
          getBytes: (key) => store.getBytes(key),
          getVersioned: (key) => store.getVersioned(key),
          head: (key) => store.head(key),
          list: (prefix) => store.list(prefix),
          localPath: (key, scratch) => store.localPath(key, scratch),
          delete: (key) => store.delete(key),
          deleteIf: (key, version) => store.deleteIf(key, version),
          replaceIf: overrides.replaceIf ?? ((key, body, version) => store.replaceIf(key, body, version)),
        }
      }

      it('stops reporting itself held once renewals keep failing and its expiry is within the safety margin', async () => {
        let clock = NOW
        const failing = wrapped({
          replaceIf: async () => {
            throw new Error('connect ETIMEDOUT')
          },
        })
        const lease = await acquireLease(failing, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW, holder: A, clock: () => clock, safetyMarginMs: 5_000 })
        assert.equal(await lease.isHeld(), true)
        for (const ms of [20_000, 40_000]) {
          clock = at(ms)
          await assert.rejects(lease.renew(), /ETIMEDOUT/)
        }
        // Nobody has taken it over, but it runs out in 4 s: less than the margin a publish needs.
        clock = at(TTL_MS - 4_000)
        assert.equal(await lease.isHeld(), false)
        clock = at(TTL_MS + 1)
        assert.equal(await lease.isHeld(), false)
        assert.equal((await storedLease())?.runId, RUN_A)
      })

      it('keeps the lease when a renewal landed but its answer was lost', async () => {
        let clock = NOW
        let lose = true
        const answerless = wrapped({
          replaceIf: async (key, body, version) => {
            const written = await store.replaceIf(key, body, version)
            if (lose) {
              lose = false
              throw new Error('socket hang up')
            }
            return written
          },
        })
        const lease = await acquireLease(answerless, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW, holder: A, clock: () => clock })
        clock = at(30_000)
        await assert.rejects(lease.renew(), /socket hang up/)
        // The renewal is in the lake: the lease runs to 30 s + TTL and is still this runner's.
        assert.equal((await storedLease())?.expiresAt, at(30_000 + TTL_MS).toISOString())
        clock = at(TTL_MS + 1_000)
        assert.equal(await lease.isHeld(), true)
        assert.equal(await lease.renew(at(TTL_MS + 2_000)), true)
        assert.equal((await storedLease())?.expiresAt, at(2 * TTL_MS + 2_000).toISOString())
        await lease.release()
        assert.equal(await storedLease(), undefined)
      })

      it('keeps the lease when a retried renewal meets its own landed write', async () => {
        // An SDK retry after a lost answer: the first try landed, the retry's If-Match fails.
        const retried = wrapped({
          replaceIf: async (key, body, version) => {
            await store.replaceIf(key, body, version)
            return undefined
          },
        })
        const lease = await acquireLease(retried, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW, holder: A, clock: () => at(30_000) })
        assert.equal(await lease.renew(at(30_000)), true)
        assert.equal(await lease.isHeld(), true)
        assert.equal((await storedLease())?.expiresAt, at(30_000 + TTL_MS).toISOString())
      })

      it('takes the lease when its own put landed but the answer was lost', async () => {
        const answerless = wrapped({
          put: async (key, body) => {
            await store.put(key, body)
            // What a client retry of the landed put reports.
            throw new ObjectExistsError(store.root, key)
          },
        })
        const lease = await acquireLease(answerless, STAGE, RUN_A, { ttlMs: TTL_MS, now: NOW, holder: A, clock: () => NOW })
        assert.equal(lease.record.runId, RUN_A)
        assert.equal(await lease.isHeld(), true)
        await lease.release()
        assert.equal(await storedLease(), undefined)
      })

      it('takes over a stale lease when its swap landed but the answer was lost, and names the holder replaced', async () => {
        const dead = record({ pid: deadPid })
        await store.put(KEY, JSON.stringify(dead))
        const answerless = wrapped({
          replaceIf: async (key, body, version) => {
            await store.replaceIf(key, body, version)
            throw new Error('socket hang up')
          },
        })
        const lease = await acquireLease(answerless, STAGE, RUN_B, { ttlMs: TTL_MS, now: NOW })
        assert.deepEqual(lease.replaced, dead)
        assert.deepEqual(await storedLease(), lease.record)
      })
    })

    describe('Lease.release', () => {
      it('removes the lease file', async () => {
        const lease = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        await lease.release()
        assert.deepEqual(await listAll(store, ''), [])
      })

      it('knows when another runner has taken the lease over', async () => {
        const mine = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
          clock: () => NOW,
        })
        assert.equal(await mine.isHeld(), true)
        await store.delete(KEY)
        await store.put(KEY, JSON.stringify(record({ runId: RUN_B, host: OTHER_HOST, pid: 4242 })))
        assert.equal(await mine.isHeld(), false)
      })

      it('leaves alone a lease that another runner has since taken over', async () => {
        const mine = await acquireLease(store, STAGE, RUN_A, {
          ttlMs: TTL_MS,
          now: NOW,
        })
        // As after this runner overran its TTL and a runner on another host replaced its lease.
        const theirs = record({
          runId: RUN_B,
          host: OTHER_HOST,
          pid: 4242,
          expiresAt: new Date(NOW.getTime() + 2 * TTL_MS).toISOString(),
        })
        await store.delete(KEY)
        await store.put(KEY, JSON.stringify(theirs))
        await mine.release()
        assert.deepEqual(await storedLease(), theirs)
      })
    })
  })
}
