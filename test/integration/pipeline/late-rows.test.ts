/**
 * Late rows in the large tables: versions that appear with a last_updated
 * the lake has already passed are found by the periodic id range check and
 * extracted, on a real PostgreSQL source; a check with nothing late reads
 * only the summaries.
 */
import assert from 'node:assert/strict'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { simulateActivity } from '../../../src/datasets/totesys/simulator.js'
import { latestManifest, readManifest } from '../../../src/lake/manifest.js'
import { extract } from '../../../src/pipeline/extract.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { PostgresSource } from '../../../src/source/postgres/postgres-source.js'
import type { ExtractSummary } from '../../../src/schema/summaries.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const LARGE = ['sales_order', 'purchase_order', 'transaction', 'payment']

/** A sales order like the application writes, stamped `stamp` (created and last updated). */
const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 4242, 3.17, 1, '2024-11-20', '2024-11-21', 1, $1::timestamp, $1::timestamp) RETURNING sales_order_id`

async function simulate(pipeline: Pipeline, days: number, seed: number): Promise<void> {
  const client = new pg.Client({ connectionString: pipeline.sourceUrl })
  await client.connect()
  try {
    await simulateActivity(client, { days, seed, silentEditChance: 0 })
  } finally {
    await client.end()
  }
}

function lateRowsOf(summary: ExtractSummary): Record<string, number> {
  return Object.fromEntries((summary.lateRows ?? []).map((t) => [t.table, t.lateRows]))
}

describe('late rows in the large tables', () => {
  it('extracts rows inserted or updated behind the watermark, and the warehouse equals the source', async () => {
    const pipeline = await fixture.pipeline({ env: { STARLINE_LATE_ROWS_INTERVAL: '0s' } })
    const first = await pipeline.cycle()
    assert.deepEqual(
      first.extract.lateRows?.map((t) => t.table),
      LARGE,
      'the first check takes the summaries of every large table (not the reconciled small ones)',
    )
    assert.ok(first.extract.lateRows!.every((t) => t.ranges === 0 && t.lateRows === 0), 'nothing to compare with yet')
    const settled = first.extract.window!.to

    // A run without the check in between: rows stamped in its window are checked against its snapshot.
    await simulate(pipeline, 1, 11)
    const between = await extract(pipeline.ctx, { ...extractOptions(pipeline.config), lateRowsIntervalMs: undefined })
    assert.equal(between.lateRows, undefined)
    assert.ok(between.window!.to > settled)

    const [backDated] = await pipeline.source<{ sales_order_id: number }>(ORDER, ['2024-11-05 10:11:12.345'])
    const [inBetween] = await pipeline.source<{ sales_order_id: number }>(ORDER, [stampAfter(settled)])
    assert.ok(stampAfter(settled) <= between.window!.to, 'the second late order is stamped inside the run in between')
    // An unpaid payment is paid, stamped a second after its own stamp: behind the watermark, after its last version.
    const [paid] = await pipeline.source<{ payment_id: number }>(
      `UPDATE payment SET paid = true, last_updated = last_updated + interval '1 second'
        WHERE payment_id = (SELECT min(payment_id) FROM payment WHERE NOT paid AND last_updated < $1::timestamp - interval '1 day')
        RETURNING payment_id`,
      [settled],
    )
    assert.ok(backDated && inBetween && paid)

    const found = await pipeline.cycle()
    assert.deepEqual(lateRowsOf(found.extract), { sales_order: 2, purchase_order: 0, transaction: 0, payment: 1 })
    const manifest = await readManifest(pipeline.ctx.ingestion, found.extract.runId!, 'extract')
    assert.deepEqual(manifest.manifest.lateRowsFound, { sales_order: 2, payment: 1 })
    await assertWarehouseMatchesSource(pipeline)
    const [versions] = await pipeline.warehouse<{ n: number }>(
      'SELECT count(*)::int AS n FROM fact_sales_order WHERE sales_order_id = ANY($1::int[])',
      [[backDated.sales_order_id, inBetween.sales_order_id]],
    )
    assert.equal(versions?.n, 2, 'each late order is loaded once')

    const quiet = await pipeline.cycle()
    assert.equal(quiet.extract.runId, undefined, 'nothing to extract')
    for (const table of quiet.extract.lateRows!) {
      assert.deepEqual({ ...table, ranges: 0 }, { table: table.table, ranges: 0, changedRanges: 0, rowsRead: 0, lateRows: 0, unconfirmed: 0 }, `${table.table} reads only the summaries`)
      assert.ok(table.ranges > 0)
    }
  })

  it('reads only the summaries when nothing is late, and does not take updated or deleted rows for late ones', async () => {
    const pipeline = await fixture.pipeline({ env: { STARLINE_LATE_ROWS_INTERVAL: '0s' } })
    await pipeline.cycle()
    const quiet = await pipeline.cycle()
    assert.equal(quiet.extract.runId, undefined)
    const [size] = await pipeline.source<{ n: number }>('SELECT max(sales_order_id) AS n FROM sales_order')
    const orders = quiet.extract.lateRows!.find((t) => t.table === 'sales_order')!
    assert.equal(orders.ranges, Math.floor(size!.n / 1024) + 1, 'one summary per 1024 ids')
    assert.equal(quiet.extract.lateRows!.reduce((sum, t) => sum + t.rowsRead + t.changedRanges, 0), 0)

    // Changes that leave an old version behind the watermark but add none there: a payment paid now, one deleted.
    await pipeline.source("UPDATE payment SET paid = true, last_updated = now() WHERE payment_id = (SELECT min(payment_id) FROM payment WHERE NOT paid)")
    await pipeline.source('DELETE FROM payment WHERE payment_id = (SELECT max(payment_id) FROM payment)')
    const next = await pipeline.cycle()
    const payments = next.extract.lateRows!.find((t) => t.table === 'payment')!
    assert.ok(payments.changedRanges >= 1 && payments.rowsRead > 0, 'the changed ranges are read')
    assert.equal(payments.lateRows, 0, 'neither is late: the paid version is in the window, deletes are not propagated')
    assert.deepEqual(
      next.extract.tables.map((t) => [t.table, t.rows]),
      [['payment', 1]],
    )
  })

  it('starts again from new summaries when the stored ones were changed, instead of failing', async () => {
    const pipeline = await fixture.pipeline({ env: { STARLINE_LATE_ROWS_INTERVAL: '0s' } })
    await pipeline.cycle()
    const state = (await latestManifest(pipeline.ctx.ingestion, 'extract'))!.manifest.lateRows!
    const file = join(pipeline.lakeDir, 'ingestion', state.summaries.sales_order!.key)
    chmodSync(file, 0o644)
    writeFileSync(file, '0,1,1\n')
    await pipeline.source(ORDER, ['2024-11-05 10:11:12.345'])
    const next = await pipeline.cycle()
    const orders = next.extract.lateRows!.find((t) => t.table === 'sales_order')!
    assert.deepEqual([orders.ranges, orders.lateRows], [0, 0], 'new summaries, nothing compared')
    assert.ok(next.extract.lateRows!.filter((t) => t.table !== 'sales_order').every((t) => t.ranges > 0), 'the other tables compare as before')
  })

  it('tells versions only by snapshot marks of the same source history', async () => {
    const pipeline = await fixture.pipeline()
    const snapshot = await new PostgresSource({ url: pipeline.sourceUrl, schema: 'public' }).openSnapshot()
    try {
      const mark = await snapshot.snapshotMark()
      const [system, pgSnapshot] = [mark.slice(0, mark.indexOf('/')), mark.slice(mark.indexOf('/') + 1)]
      assert.match(system, /^\d+$/)
      assert.equal(await snapshot.canTellVersions(mark), true)
      assert.equal(await snapshot.canTellVersions(`1${system}/${pgSnapshot}`), false, 'another cluster')
      const xmax = Number(pgSnapshot.split(':')[1])
      assert.equal(await snapshot.canTellVersions(`${system}/${xmax + 1000}:${xmax + 1000}:`), false, 'ids this source has not reached: restored')
      assert.equal(await snapshot.canTellVersions('not a mark'), false)
    } finally {
      await snapshot.close()
    }
  })
})

/** One second after a `YYYY-MM-DD HH:MI:SS.MS` watermark, in the same form. */
function stampAfter(watermark: string): string {
  const next = new Date(`${watermark.replace(' ', 'T')}Z`).getTime() + 1000
  return new Date(next).toISOString().replace('T', ' ').replace('Z', '')
}
