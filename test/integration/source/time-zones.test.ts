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
import { quoteIdent, quoteLiteral } from '../../../src/sql/quote.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 10, 2.50, 1, '2024-11-25', '2024-11-21', 1, $1, $1) RETURNING sales_order_id`

/**
 * A POSIX zone one minute ahead of UTC (its "summer time") until `turn`, when it turns its clocks
 * back to UTC: the minute of wall-clock time before the turn's wall time happens twice.
 */
function zoneTurningBackAt(turn: Date): string {
  const local = new Date(turn.getTime() + 60_000) // the rule's time is the wall time in summer time
  const year = local.getUTCFullYear()
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  let day = Math.floor((local.getTime() - Date.UTC(year, 0, 1)) / 86_400_000) + 1
  if (leap && local.getUTCMonth() >= 2) day -= 1 // Jn days never count February 29
  return `TST0TDT-0:01,J1/0,J${day}/${local.toISOString().slice(11, 19)}`
}

async function sleepUntil(time: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())))
}

describe('the extract window and time zones', () => {
  it('neither loses nor doubles rows stamped in a wall-clock minute the source zone repeats when it turns its clocks back', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    const turn = Date.now() + 12_000
    const database = new URL(pipeline.sourceUrl).pathname.slice(1)
    await pipeline.source(`ALTER DATABASE ${quoteIdent(database)} SET TimeZone = ${quoteLiteral(zoneTurningBackAt(new Date(turn)))}`)
    // The application stamps rows with now() in the database's zone.
    const app = new pg.Client({ connectionString: pipeline.sourceUrl })
    await app.connect()
    try {
      const [first] = (await app.query<{ sales_order_id: number }>(ORDER.replaceAll('$1', 'now()'))).rows
      // Taken in the first pass of the repeated minute: a window ending at that row's stamp would pass
      // over every row stamped in the second pass.
      await extract(pipeline.ctx, extractOptions(pipeline.config))
      await sleepUntil(turn + 1_000)
      const [second] = (await app.query<{ sales_order_id: number }>(ORDER.replaceAll('$1', 'now()'))).rows
      const stamps = await app.query<{ id: number; stamp: string }>(
        'SELECT sales_order_id AS id, last_updated::text AS stamp FROM sales_order WHERE sales_order_id = ANY($1) ORDER BY sales_order_id',
        [[first!.sales_order_id, second!.sales_order_id]],
      )
      assert.ok(stamps.rows[1]!.stamp < stamps.rows[0]!.stamp, `the later row has the earlier stamp: ${JSON.stringify(stamps.rows)}`)
      await pipeline.cycle()
      await sleepUntil(turn + 61_500)
      await pipeline.cycle()
    } finally {
      await app.end()
    }
    await assertWarehouseMatchesSource(pipeline)
  })

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
