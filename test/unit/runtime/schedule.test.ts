import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError } from '../../../src/config/errors.js'
import { cronSchedule, everySchedule } from '../../../src/runtime/scheduler.js'

const at = (iso: string) => new Date(iso)

describe('everySchedule', () => {
  it('ticks at fixed distances from the previous tick', () => {
    const { schedule, intervalMs } = everySchedule('5m')
    assert.equal(intervalMs, 300_000)
    assert.deepEqual(schedule(at('2026-12-03T08:00:00Z'), at('2026-12-03T08:01:30Z')), at('2026-12-03T08:05:00Z'))
  })

  it('skips ticks a long cycle overran instead of queueing them', () => {
    const { schedule } = everySchedule('5m')
    assert.deepEqual(schedule(at('2026-12-03T08:00:00Z'), at('2026-12-03T08:12:00Z')), at('2026-12-03T08:15:00Z'))
  })

  it('rejects a malformed or too short interval as a usage error', () => {
    assert.throws(() => everySchedule('soon'), ConfigError)
    assert.throws(() => everySchedule('200ms'), /at least 1s/)
  })
})

describe('cronSchedule', () => {
  it('gives the next matching time in UTC', () => {
    const { schedule } = cronSchedule('*/15 * * * *')
    assert.deepEqual(schedule(at('2026-12-03T08:00:00Z'), at('2026-12-03T08:07:10Z')), at('2026-12-03T08:15:00Z'))
  })

  it('rejects an invalid expression as a usage error naming --cron', () => {
    assert.throws(() => cronSchedule('every day'), (error: unknown) => error instanceof ConfigError && /--cron/.test(error.message))
  })
})
