import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { StarlineError } from '../../../src/core/starline-error.js'
import { observeStages, observeStatus } from '../../../src/observe/alerts/evaluate.js'
import type { PipelineStatus, WarehouseTableStatus } from '../../../src/observe/status.js'

const table = (name: string, fields: Partial<WarehouseTableStatus> = {}): WarehouseTableStatus => ({
  table: name,
  kind: 'fact',
  lastRunRows: 0,
  rowsMoved: 0,
  held: 0,
  heldForRuns: 0,
  lagMs: 0,
  fresh: true,
  ...fields,
})

const status = (warehouse: WarehouseTableStatus[], fields: Partial<PipelineStatus> = {}): PipelineStatus => ({
  at: '2026-12-03T08:00:00.000Z',
  freshnessTargetMs: 30 * 60_000,
  source: [],
  warehouse,
  pending: { transform: [], load: [] },
  lastFailures: [],
  failing: [],
  openIncidents: [],
  runsRead: 0,
  perTableLedger: true,
  ...fields,
})

describe('observeStatus', () => {
  it('fires freshness naming the stale tables and the worst lag', () => {
    const [freshness] = observeStatus(status([table('fact_payment', { fresh: false, lagMs: 45 * 60_000 }), table('dim_date')]), 3)
    assert.equal(freshness!.firing, true)
    assert.match(freshness!.title, /45 min behind/)
    assert.match(freshness!.detail, /1 tables lag more than the 30 min target: fact_payment\./)
  })

  it('fires held only from N loads on', () => {
    const held = (runs: number) => observeStatus(status([table('fact_sales_order', { held: 2, heldForRuns: runs })]), 3)[1]!.firing
    assert.deepEqual([held(2), held(3), held(4)], [false, true, true])
  })

  it('observes nothing when the warehouse could not be read, so no incident is resolved by mistake', () => {
    assert.deepEqual(observeStatus(status([], { warehouseError: 'Cannot connect' }), 3), [])
  })
})

describe('observeStages', () => {
  it('fires for a failed stage with its class and reason, and clears for a stage that succeeded', () => {
    const [failed, ok] = observeStages([
      { stage: 'load', error: new StarlineError('Cannot connect to the warehouse.\nCheck STARLINE_WAREHOUSE_URL.', { retryable: true }) },
      { stage: 'extract' },
    ])
    assert.deepEqual([failed!.incident, failed!.firing, failed!.detail], ['failure-load', true, 'StarlineError (retryable): Cannot connect to the warehouse. Check STARLINE_WAREHOUSE_URL.'])
    assert.deepEqual([ok!.incident, ok!.firing], ['failure-extract', false])
  })
})
