/**
 * The extract window reads the source's clock in the zone the application
 * stamps rows in, whatever zone a connection option asks for, and rows
 * stamped in the future are reported rather than held back without a word.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { extract } from '../../../src/pipeline/extract.js'
import { formatExtract } from '../../../src/observe/summary-text.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { openSource } from '../../../src/source/open-source.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 10, 2.50, 1, '2024-11-25', '2024-11-21', 1, $1, $1) RETURNING sales_order_id`

describe('the extract window and time zones', () => {
  it('keeps a late commit when the extract connection asks for another time zone', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    // The application writes in the database's zone (UTC here): transaction A stamps its row and
    // commits late; B starts after A, stamps a later time and commits at once.
    const app = new pg.Client({ connectionString: pipeline.sourceUrl })
    await app.connect()
    try {
      await app.query('BEGIN')
      await app.query(ORDER.replaceAll('$1', 'now()'))
      await new Promise((resolve) => setTimeout(resolve, 20))
      await pipeline.source(ORDER.replaceAll('$1', 'now()'))
      // An extract whose connection asks for UTC+14: unpinned, its clock would run 14 hours ahead of
      // the stamps, the open-transaction guard would sit above A's row, and the window would close
      // over it before A commits.
      const url = new URL(pipeline.sourceUrl)
      url.searchParams.set('options', '-c TimeZone=Pacific/Kiritimati')
      const options = { ...extractOptions(pipeline.config), source: openSource(url.toString(), { schema: 'public' }) }
      await extract(pipeline.ctx, options)
      await app.query('COMMIT')
      await pipeline.cycle()
    } finally {
      await app.end()
    }
    await assertWarehouseMatchesSource(pipeline)
  })

  it('reports rows stamped in the future and at infinity, takes them when their time comes, and quarantines an infinite created_at', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    const [future] = await pipeline.source<{ sales_order_id: number }>(ORDER.replaceAll('$1', "now() + interval '2 days'"))
    const [forever] = await pipeline.source<{ sales_order_id: number }>(ORDER, ['infinity'])
    const summary = await extract(pipeline.ctx, extractOptions(pipeline.config))
    assert.deepEqual(summary.stampedInFuture, [{ table: 'sales_order', rows: 2 }])
    assert.match(formatExtract(summary), /WARNING 2 "sales_order" rows have last_updated later than the source's clock/)
    await pipeline.source('UPDATE sales_order SET last_updated = now() - interval \'1 second\' WHERE sales_order_id = ANY($1)', [
      [future!.sales_order_id, forever!.sales_order_id],
    ])
    const later = await pipeline.cycle()
    assert.equal(later.extract.stampedInFuture, undefined)
    // Its created_at is still infinity: that row fails validation alone; the run goes on.
    const quarantined = later.transform.runs.flatMap((run) => run.quarantined)
    assert.deepEqual(quarantined.map((q) => [q.table, q.rows]), [['sales_order', 1]])
    await pipeline.source('DELETE FROM sales_order WHERE sales_order_id = $1', [forever!.sales_order_id])
    await assertWarehouseMatchesSource(pipeline)
  })
})
