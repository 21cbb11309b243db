/**
 * One bad value fails its row, never the run: absurd but valid dates keep
 * the date dimension small, and the warehouse still equals the source.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { PipelineFixture } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 10, 2.50, 1, $1, $2, 1, '2024-11-19 09:00:00', '2024-11-19 09:00:00')`

describe('hostile source values', () => {
  it('keeps the date dimension small when an order is due in year 9999 or year 1', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    await pipeline.source(ORDER, ['9999-12-31', '0001-01-01'])
    const summary = await pipeline.cycle()
    assert.deepEqual(summary.transform.runs.flatMap((r) => r.quarantined), [])
    const [dates] = await pipeline.warehouse<{ n: number; far: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE date_id IN ('9999-12-31', '0001-01-01'))::int AS far FROM dim_date",
    )
    assert.equal(dates!.far, 2, 'both far dates have their calendar row')
    assert.ok(dates!.n < 80_000, `dim_date holds ${dates!.n} rows`)
    await assertWarehouseMatchesSource(pipeline)
  })
})

describe('hostile source text and columns', () => {
  it('carries a text value longer than DuckDB\'s 2 MB CSV record limit, newlines and all, into the warehouse', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    const name = 'Counterparty, "Long" Ltd\n'.repeat(120_000)
    await pipeline.source("UPDATE counterparty SET counterparty_legal_name = $1, last_updated = '2024-11-19 09:00:00' WHERE counterparty_id = 2", [name])
    const summary = await pipeline.cycle()
    assert.deepEqual(summary.transform.runs.flatMap((r) => r.quarantined), [])
    const [row] = await pipeline.warehouse<{ name: string }>('SELECT counterparty_legal_name AS name FROM dim_counterparty WHERE counterparty_id = 2')
    assert.equal(row!.name, name)
    // A later run rebuilds the current state from every earlier file, the long one included.
    await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = '2024-11-19 10:00:00' WHERE counterparty_id = 2")
    await pipeline.cycle()
    await assertWarehouseMatchesSource(pipeline)
  })

  it('carries source columns named like the transform\'s internal columns', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    await pipeline.source('ALTER TABLE design ADD COLUMN _reasons text, ADD COLUMN _raw text, ADD COLUMN _file text, ADD COLUMN filename text, ADD COLUMN _held_since text')
    await pipeline.source("UPDATE design SET _reasons = 'r', _raw = 'w', _file = 'f', filename = 'n', _held_since = 'h', design_name = 'renamed', last_updated = '2024-11-19 09:00:00' WHERE design_id = 3")
    const summary = await pipeline.cycle()
    assert.deepEqual(summary.transform.runs.flatMap((r) => r.quarantined), [])
    const [row] = await pipeline.warehouse<{ design_name: string }>('SELECT design_name FROM dim_design WHERE design_id = 3')
    assert.equal(row!.design_name, 'renamed')
    await assertWarehouseMatchesSource(pipeline)
  })
})
