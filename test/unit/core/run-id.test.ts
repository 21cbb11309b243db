import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { newRunId, nextRunId, runIdDate } from '../../../src/core/run-id.js'
import { StarlineError } from '../../../src/core/starline-error.js'

const RUN_ID_FORM = /^\d{8}T\d{9}Z$/

describe('newRunId', () => {
  it('formats the UTC time with milliseconds', () => {
    assert.equal(newRunId(new Date('2026-11-22T09:30:00.123Z')), '20261122T093000123Z')
  })

  it('uses UTC, not the local time zone', () => {
    assert.equal(newRunId(new Date('2026-01-01T00:30:00.000+02:00')), '20251231T223000000Z')
  })

  it('uses the current time by default', () => {
    const before = newRunId(new Date())
    const id = newRunId()
    const after = newRunId(new Date())
    assert.match(id, RUN_ID_FORM)
    assert.ok(before <= id && id <= after, `${id} is not between ${before} and ${after}`)
  })

  it('sorts as plain strings in time order', () => {
    const times = [
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
      '2026-11-22T09:30:00.009Z',
      '2026-11-22T09:30:00.010Z',
      '2026-11-22T09:30:00.100Z',
      '2026-11-22T09:30:01.000Z',
      '2026-11-22T10:00:00.000Z',
    ]
    const ids = times.map((t) => newRunId(new Date(t)))
    assert.deepEqual([...ids].reverse().sort(), ids)
  })
})

describe('runIdDate', () => {
  it('returns the date of a run id as YYYY-MM-DD', () => {
    assert.equal(runIdDate('20261122T093000123Z'), '2026-11-22')
  })

  it('reads back the date of a new run id', () => {
    assert.equal(runIdDate(newRunId(new Date('2024-02-29T23:59:59.999Z'))), '2024-02-29')
  })

  it('rejects run ids that name no real instant', () => {
    for (const id of ['20261322T093000123Z', '20260231T093000123Z', '20261122T253000123Z']) {
      assert.throws(() => runIdDate(id), /Invalid run id/, id)
    }
  })

  it('rejects ids that are not run ids', () => {
    const invalid = [
      '',
      '20261122T093000Z',
      '20261122T0930001234Z',
      '20261122T093000123',
      '20261122t093000123Z',
      '2026-11-22T09:30:00.123Z',
      ' 20261122T093000123Z',
      '20261122T093000123Z\n',
      '../20261122T093000123Z',
    ]
    for (const id of invalid) {
      assert.throws(() => runIdDate(id), StarlineError, `runIdDate(${JSON.stringify(id)})`)
    }
  })

  it('names the invalid id in the message', () => {
    assert.throws(() => runIdDate('yesterday'), /"yesterday"/)
  })
})

describe('nextRunId', () => {
  it('returns the id of now when there is no previous run', () => {
    const now = new Date('2026-11-22T09:30:00.123Z')
    assert.equal(nextRunId(undefined, now), '20261122T093000123Z')
  })

  it('returns the id of now when the clock has moved on', () => {
    const now = new Date('2026-11-22T09:30:00.500Z')
    assert.equal(nextRunId('20261122T093000123Z', now), '20261122T093000500Z')
  })

  it('returns one millisecond after the previous id when the clock has not moved', () => {
    const now = new Date('2026-11-22T09:30:00.123Z')
    assert.equal(nextRunId('20261122T093000123Z', now), '20261122T093000124Z')
  })

  it('returns an id after the previous one when the clock went backwards', () => {
    const next = nextRunId('20261122T093000123Z', new Date('2026-11-22T09:00:00.000Z'))
    assert.equal(next, '20261122T093000124Z')
  })

  it('carries over seconds, days and years', () => {
    const past = new Date('2000-01-01T00:00:00.000Z')
    assert.equal(nextRunId('20261122T093059999Z', past), '20261122T093100000Z')
    assert.equal(nextRunId('20261231T235959999Z', past), '20270101T000000000Z')
  })

  it('keeps producing strictly increasing ids on a frozen clock', () => {
    const frozen = new Date('2026-11-22T09:30:00.998Z')
    let previous: string | undefined
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      previous = nextRunId(previous, frozen)
      ids.push(previous)
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} is not before ${ids[i]}`)
    assert.equal(ids.at(-1), '20261122T093001002Z')
    for (const id of ids) assert.match(id, RUN_ID_FORM)
  })
})
