/**
 * The Redshift warehouse's SQL against the PostgreSQL warehouse, on the real
 * ToteSys pipeline: after every cycle the same processed lake is loaded
 * into a second database through RedshiftWarehouse (PostgreSQL standing in
 * for Redshift, COPY read from the lake's Parquet), and the two warehouses
 * must hold the same rows, record ids, held rows, current views and ledger.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { simulateActivity } from '../../../src/datasets/totesys/simulator.js'
import type { StageContext } from '../../../src/pipeline/context.js'
import { load } from '../../../src/pipeline/load.js'
import { currentViewName, heldTableName } from '../../../src/schema/table-spec.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { RedshiftWarehouse } from '../../../src/warehouse/redshift/redshift-warehouse.js'
import { PipelineFixture, warehouseSnapshot, type Pipeline } from '../../support/pipeline-fixture.js'
import { copyFromLake, RedshiftStandIn, underRoot } from '../../support/redshift-stand-in.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

/** Star tables, ledger, held rows and current views: everything a reader of the warehouse sees. */
async function fullSnapshot(pipeline: Pipeline): Promise<Record<string, string[]>> {
  const snapshot = await warehouseSnapshot(pipeline)
  for (const model of pipeline.ctx.dataset.models) {
    const spec = model.table
    if (spec.kind !== 'fact') continue
    for (const name of [heldTableName(spec), currentViewName(spec)]) {
      const rows = await pipeline.warehouse<{ r: string }>(`SELECT t::text AS r FROM ${qualify('public', name)} t ORDER BY 1`)
      snapshot[name] = rows.map((row) => row.r)
    }
  }
  return snapshot
}

describe('ToteSys pipeline into Redshift (PostgreSQL standing in)', () => {
  it('ends every cycle in the same state as the PostgreSQL warehouse, held facts and late dimensions included', async () => {
    const reference = await fixture.pipeline()
    const pool = new pg.Pool({ connectionString: await fixture.server.createDatabase('redshift_stand_in'), max: 2 })
    pool.on('error', () => {})
    const processed = underRoot(reference.ctx.processed, 's3://lake-bucket/processed')
    const session = new RedshiftStandIn(pool, copyFromLake(pool, processed))
    const redshift = new RedshiftWarehouse({ iamRole: 'arn:aws:iam::123456789012:role/starline-copy', connection: { session } })
    const ctx: StageContext = { ...reference.ctx, processed }
    const mirror: Pipeline = { ...reference, ctx, warehouse: async (sql, values) => (await pool.query(sql, values)).rows }
    const cycle = async () => {
      await reference.cycle()
      const loaded = await load(ctx, { warehouse: redshift, schema: 'public' })
      assert.ok(loaded.runs.length >= 1, 'the mirror loads the run the cycle made')
      assert.deepEqual(await fullSnapshot(mirror), await fullSnapshot(reference))
    }
    try {
      await cycle()
      const client = new pg.Client({ connectionString: reference.sourceUrl })
      await client.connect()
      await simulateActivity(client, { days: 1, seed: 3, silentEditChance: 0 })
      await client.end()
      await cycle()

      // A version waits for a late design; a newer version loads first; the design arrives.
      const [design] = await reference.source<{ design_id: number }>(
        "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
      )
      await reference.source('UPDATE sales_order SET design_id = $1, units_sold = 11111, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = 1', [
        design!.design_id,
      ])
      await cycle()
      const [held] = await mirror.warehouse<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent('_starline_held_fact_sales_order')}`)
      assert.equal(held?.n, '1', 'the mirror holds the fact too')
      await reference.source('UPDATE sales_order SET design_id = 1, units_sold = 22222, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = 1')
      await cycle()
      await reference.source('UPDATE design SET last_updated = clock_timestamp()::timestamp(3) WHERE design_id = $1', [design!.design_id])
      await cycle()

      const again = await load(ctx, { warehouse: redshift, schema: 'public' })
      assert.deepEqual(again.runs, [], 'every run is in the ledger: nothing loads twice')
    } finally {
      await redshift.close()
      await pool.end()
    }
  })
})
