/**
 * A cycle checks the warehouse against its ledger before it extracts: a
 * drifted warehouse is refused before the lake grows (every load would
 * refuse it anyway), and a clean one is checked once per cycle, not again
 * by the load.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { listRunIds } from '../../../src/lake/manifest.js'
import { runCycle } from '../../../src/pipeline/run.js'
import { extractOptions, loadOptions, openConfiguredWarehouse } from '../../../src/runtime/pipeline-setup.js'
import { WarehouseDriftError } from '../../../src/warehouse/drift.js'
import type { Warehouse } from '../../../src/warehouse/warehouse.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

/** The pipeline's own warehouse, counting the drift checks asked of it. */
function counting(warehouse: Warehouse): { warehouse: Warehouse; checks: () => number } {
  let checks = 0
  const proxy = new Proxy(warehouse, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      const method = value as (...args: unknown[]) => unknown
      return (...args: unknown[]) => {
        if (property === 'checkAgainstLedger') checks++
        return method.apply(target, args)
      }
    },
  })
  return { warehouse: proxy, checks: () => checks }
}

async function cycle(pipeline: Pipeline, warehouse: Warehouse) {
  return runCycle(pipeline.ctx, { extract: extractOptions(pipeline.config), load: loadOptions(pipeline.config, warehouse) })
}

describe('runCycle and warehouse drift', () => {
  it('checks the warehouse once per cycle, before extract, and the load does not check again', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.02 })
    const opened = await openConfiguredWarehouse(pipeline.config)
    try {
      const { warehouse, checks } = counting(opened)
      const first = await cycle(pipeline, warehouse)
      assert.ok(first.load.rows > 0, 'the first cycle loads rows')
      assert.equal(checks(), 1)
      await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = '2024-11-19 09:00:00' WHERE sales_order_id <= 3")
      const second = await cycle(pipeline, warehouse)
      assert.equal(second.load.runs.length, 1)
      assert.equal(checks(), 2)
    } finally {
      await opened.close()
    }
  })

  it('refuses a drifted warehouse before anything is extracted', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.02 })
    await pipeline.cycle()
    await pipeline.warehouse('DELETE FROM fact_sales_order WHERE sales_order_id <= 2')
    await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = '2024-11-19 09:00:00' WHERE sales_order_id <= 3")
    const before = await listRunIds(pipeline.ctx.ingestion)
    await assert.rejects(pipeline.cycle(), (error: unknown) => {
      assert.ok(error instanceof WarehouseDriftError, String(error))
      assert.match(error.message, /^The warehouse schema "public" is not what its ledger vouches for: "fact_sales_order" holds \d+ rows; the ledger vouches for \d+\. Nothing was loaded\./)
      return true
    })
    assert.deepEqual(await listRunIds(pipeline.ctx.ingestion), before, 'nothing was extracted')
  })
})
