/**
 * The continuous-mode loop against a real filesystem lake: two runners on
 * one lake never run cycles at once, a crashed holder's lock is taken over,
 * a failing cycle does not stop the schedule, and a stop ends the wait.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { listAll } from '../../../src/lake/object-store.js'
import { silentLogger } from '../../../src/observe/logger.js'
import { everySchedule, runContinuously, type CycleReport } from '../../../src/runtime/scheduler.js'

const dir = mkdtempSync(join(tmpdir(), 'starline-scheduler-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshStore = () => new FsObjectStore(pathToFileURL(join(dir, `lake-${++n}`)).href)

describe('runContinuously', () => {
  it('never lets two runners on one lake run a cycle at once: the second skips its tick', async () => {
    const store = freshStore()
    const controller = new AbortController()
    let inside = 0
    let overlaps = 0
    const cycle = async () => {
      inside++
      if (inside > 1) overlaps++
      await sleep(300)
      inside--
      return 'ok'
    }
    const reports: CycleReport<string>[][] = [[], []]
    const runners = [0, 1].map((i) =>
      runContinuously({
        schedule: everySchedule('1s').schedule,
        lockStore: store,
        lockTtlMs: 60_000,
        signal: controller.signal,
        logger: silentLogger,
        cycle,
        onCycle: (r) => reports[i]!.push(r),
      }),
    )
    await sleep(2500)
    controller.abort()
    await Promise.all(runners)
    assert.equal(overlaps, 0)
    const all = reports.flat()
    assert.ok(all.some((r) => r.skipped !== undefined), 'a tick was skipped while the other runner held the lock')
    assert.ok(all.filter((r) => r.summary === 'ok').length >= 3, 'cycles ran')
    const ran = all.filter((r) => r.summary === 'ok').sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    for (let i = 1; i < ran.length; i++) assert.ok(ran[i - 1]!.finishedAt <= ran[i]!.startedAt)
    assert.deepEqual(await listAll(store, '_leases/'), [], 'the lock is released on stop')
  })

  it('takes over the lock of a crashed runner (its process is gone)', async () => {
    const store = freshStore()
    const now = new Date()
    const dead = { stage: 'cycle', runId: '20261203T000000000Z', host: hostname(), pid: 2 ** 22 + 7, acquiredAt: now.toISOString(), expiresAt: new Date(now.getTime() + 3_600_000).toISOString() }
    await store.put('_leases/cycle.json', JSON.stringify(dead))
    const controller = new AbortController()
    const reports: CycleReport<string>[] = []
    await runContinuously({
      schedule: everySchedule('1s').schedule,
      lockStore: store,
      lockTtlMs: 60_000,
      signal: controller.signal,
      logger: silentLogger,
      cycle: async () => {
        controller.abort()
        return 'ran'
      },
      onCycle: (r) => reports.push(r),
    })
    assert.deepEqual(reports.map((r) => r.summary), ['ran'])
  })

  it('goes on after a failing cycle, reporting the failure', async () => {
    const controller = new AbortController()
    const reports: CycleReport<string>[] = []
    let calls = 0
    await runContinuously({
      schedule: everySchedule('1s').schedule,
      lockStore: freshStore(),
      lockTtlMs: 60_000,
      signal: controller.signal,
      logger: silentLogger,
      cycle: async () => {
        if (++calls === 1) throw new Error('source down')
        controller.abort()
        return 'recovered'
      },
      onCycle: (r) => reports.push(r),
    })
    assert.deepEqual(reports.map((r) => r.error ?? r.summary), ['source down', 'recovered'])
  })

  it('goes on when the lake cannot take the cycle lock for a moment (a 503), reporting that tick as failed', async () => {
    const controller = new AbortController()
    const reports: CycleReport<string>[] = []
    const store = freshStore()
    let failures = 1
    // A store whose first write of the cycle lock fails, as S3 answering 503 would.
    const put: FsObjectStore['put'] = async (key, body) => {
      if (key.includes('_leases/cycle') && failures-- > 0) throw new Error('503 SlowDown')
      return store.put(key, body)
    }
    await runContinuously({
      schedule: everySchedule('1s').schedule,
      lockStore: new Proxy(store, { get: (target, name) => (name === 'put' ? put : Reflect.get(target, name, target)) }),
      lockTtlMs: 60_000,
      signal: controller.signal,
      logger: silentLogger,
      cycle: async () => {
        controller.abort()
        return 'ran'
      },
      onCycle: (r) => reports.push(r),
    })
    assert.deepEqual(reports.map((r) => r.error ?? r.summary), ['503 SlowDown', 'ran'])
  })

  it('ends the wait between cycles at once when stopped', async () => {
    const controller = new AbortController()
    const started = Date.now()
    const stopped = runContinuously({
      schedule: everySchedule('1h').schedule,
      lockStore: freshStore(),
      lockTtlMs: 60_000,
      signal: controller.signal,
      logger: silentLogger,
      cycle: async () => 'once',
      onCycle: () => setTimeout(() => controller.abort(), 50),
    })
    assert.equal(await stopped, 1)
    assert.ok(Date.now() - started < 60_000, 'did not wait for the next tick')
  })
})
