/**
 * Trusting the warehouse row for row: current-state views, silent edits,
 * validation and quarantine, late-arriving dimensions, schema drift; with
 * the lake on disk and on S3 (moto_server).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { simulateActivity } from '../../../src/datasets/totesys/simulator.js'
import { listRunIds, readManifest } from '../../../src/lake/manifest.js'
import { listAll } from '../../../src/lake/object-store.js'
import { SchemaDriftError } from '../../../src/source/schema-drift.js'
import { extract } from '../../../src/pipeline/extract.js'
import { transform } from '../../../src/pipeline/transform.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { MOTO_MISSING } from '../../support/moto-server.js'
import { LAKE_KINDS, PipelineFixture, warehouseSnapshot, type Pipeline } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource, FACTS, texts } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES ($1, 1, 1, $2, 2.50, 1, $3, '2024-11-21', 1, $4, $4) RETURNING sales_order_id`

async function simulate(pipeline: Pipeline, options: Parameters<typeof simulateActivity>[1]) {
  const client = new pg.Client({ connectionString: pipeline.sourceUrl })
  await client.connect()
  try {
    return await simulateActivity(client, options)
  } finally {
    await client.end()
  }
}

for (const lake of LAKE_KINDS) {
  describe(`lake on ${lake}`, { skip: lake === 's3' ? MOTO_MISSING : undefined }, () => {
    describe('the warehouse as a whole', () => {
      it('declares every primary and foreign key of the three stars after a bulk first load', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        const [fks] = await pipeline.warehouse<{ n: number }>(
          `SELECT count(*)::int AS n FROM information_schema.table_constraints
            WHERE table_schema = 'public' AND constraint_type = 'FOREIGN KEY' AND table_name LIKE 'fact\\_%'`,
        )
        // sales 9 (4 dates, staff, counterparty, currency, design, location), purchases 8 (no design), payments 7.
        assert.equal(fks?.n, 24)
        const keys = await pipeline.warehouse<{ table_name: string }>(
          `SELECT table_name FROM information_schema.table_constraints
            WHERE table_schema = 'public' AND constraint_type = 'PRIMARY KEY' AND table_name LIKE 'fact\\_%' ORDER BY 1`,
        )
        assert.deepEqual(keys.map((k) => k.table_name), ['fact_payment', 'fact_purchase_order', 'fact_sales_order'], 'primary keys rebuilt after a bulk load')
      })

      it('offers the current state of each fact as a view equal to the source', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        await simulate(pipeline, { days: 2, seed: 5, silentEditChance: 0 })
        // A payment already in the warehouse as unpaid is paid: its second version.
        await pipeline.source(
          "UPDATE payment SET paid = true, last_updated = '2024-11-21 12:00:00' WHERE payment_id = (SELECT min(payment_id) FROM payment WHERE NOT paid)",
        )
        await pipeline.cycle()
        const views = {
          fact_sales_order: 'fact_sales_order_current',
          fact_purchase_order: 'fact_purchase_order_current',
          fact_payment: 'fact_payment_current',
        } as const
        for (const [fact, view] of Object.entries(views)) {
          const fromView = FACTS[fact as keyof typeof FACTS].latest.replace(/FROM \(SELECT DISTINCT ON[\s\S]*?DESC\) t/, `FROM ${view} t`)
          assert.notEqual(fromView, FACTS[fact as keyof typeof FACTS].latest, 'the query reads the view')
          assert.deepEqual(await texts(pipeline.warehouse, fromView), await texts(pipeline.source, FACTS[fact as keyof typeof FACTS].source), view)
        }
        const [history] = await pipeline.warehouse<{ all: number; current: number }>(
          'SELECT (SELECT count(*)::int FROM fact_payment) AS all, (SELECT count(*)::int FROM fact_payment_current) AS current',
        )
        assert.ok(history!.all > history!.current, `the fact keeps the full history, the view one row per payment: ${JSON.stringify(history)}`)
      })
    })

    describe('silent edits', () => {
      it('brings a design edited without last_updated moving into dim_design at the next reconciliation', async () => {
        const pipeline = await fixture.pipeline({ lake, env: { STARLINE_RECONCILE_INTERVAL: '0s' } })
        await pipeline.cycle()
        const day = await simulate(pipeline, { days: 1, seed: 9, silentEditChance: 1 })
        assert.ok(day.silentDesignEdits.length > 0)
        const summary = await pipeline.cycle()
        const design = summary.extract.reconciled?.find((r) => r.table === 'design')
        assert.equal(design?.silentEdits, new Set(day.silentDesignEdits).size)
        await assertWarehouseMatchesSource(pipeline)
      })

      it('waits for the configured period before comparing again', async () => {
        const pipeline = await fixture.pipeline({ lake, env: { STARLINE_RECONCILE_INTERVAL: '1h' } })
        await pipeline.cycle()
        await pipeline.source("UPDATE design SET file_location = '/moved' WHERE design_id = 1")
        await pipeline.source("INSERT INTO currency (currency_code, created_at, last_updated) VALUES ('JPY', now(), '2024-11-19 09:00:00')")
        const soon = await pipeline.cycle()
        assert.equal(soon.extract.reconciled, undefined, 'not yet due')
        const [before] = await pipeline.warehouse<{ file_location: string }>('SELECT file_location FROM dim_design WHERE design_id = 1')
        assert.notEqual(before?.file_location, '/moved')

        // Due again: the next extract (as if an hour had passed) compares, finds it and re-extracts it.
        const late = await extract(pipeline.ctx, { ...extractOptions(pipeline.config), reconcileIntervalMs: 0 })
        assert.equal(late.reconciled?.find((r) => r.table === 'design')?.silentEdits, 1)
        await pipeline.cycle()
        await assertWarehouseMatchesSource(pipeline)
      })

      it('does not count rows updated in the open since the last comparison as silent edits', async () => {
        const pipeline = await fixture.pipeline({ lake, env: { STARLINE_RECONCILE_INTERVAL: '1h' } })
        await pipeline.cycle()
        await pipeline.source("UPDATE design SET file_location = '/visible', last_updated = '2024-11-19 09:00:00' WHERE design_id = 2")
        const between = await pipeline.cycle()
        assert.equal(between.extract.reconciled, undefined, 'not due: the window alone takes the update')
        const due = await extract(pipeline.ctx, { ...extractOptions(pipeline.config), reconcileIntervalMs: 0 })
        assert.equal(due.reconciled?.find((r) => r.table === 'design')?.silentEdits, 0)
        assert.equal(due.runId, undefined, 'nothing to extract again')
      })

      it('does not report rows whose last_updated moved as silent edits', async () => {
        const pipeline = await fixture.pipeline({ lake, env: { STARLINE_RECONCILE_INTERVAL: '0s' } })
        await pipeline.cycle()
        await pipeline.source("UPDATE design SET file_location = '/visible', last_updated = '2024-11-19 09:00:00' WHERE design_id = 2")
        const summary = await pipeline.cycle()
        assert.equal(summary.extract.reconciled?.find((r) => r.table === 'design')?.silentEdits, 0)
        assert.equal(summary.extract.tables.find((t) => t.table === 'design')?.rows, 1)
        await assertWarehouseMatchesSource(pipeline)
      })
    })

    describe('validation', () => {
      it('quarantines a row with an invalid text date, with its reason and source, and loads every other row', async () => {
        const pipeline = await fixture.pipeline({ lake })
        const [poisoned] = await pipeline.source<{ sales_order_id: number }>(ORDER, [1, 5000, '2024-11-31', '2024-11-18 10:00:00'])
        const summary = await pipeline.cycle()

        const run = summary.transform.runs[0]!
        assert.deepEqual(run.quarantined.map((q) => [q.table, q.rows]), [['sales_order', 1]])
        const text = (await pipeline.ctx.processed.getBytes(run.quarantined[0]!.key)).toString('utf8')
        const [header, row] = text.trim().split('\n')
        assert.match(header!, /^reason,source_key,sales_order_id,/)
        assert.match(row!, /^agreed_delivery_date is not a YYYY-MM-DD date,sales_order\/\d{4}\/\d{2}\/\d{2}\/\d+T\d+Z\.csv,/)
        assert.match(row!, new RegExp(`,${poisoned!.sales_order_id},.*2024-11-31`))
        const { manifest } = await readManifest(pipeline.ctx.processed, run.runId)
        assert.equal(manifest.quarantine?.[0]?.sourceKey, summary.extract.tables.find((t) => t.table === 'sales_order')?.key)

        const [loaded] = await pipeline.warehouse<{ n: number }>('SELECT count(*)::int AS n FROM fact_sales_order WHERE sales_order_id = $1', [poisoned!.sales_order_id])
        assert.equal(loaded?.n, 0, 'the poisoned row is not loaded')
        const [source] = await pipeline.source<{ n: number }>('SELECT count(*)::int AS n FROM sales_order')
        const [warehouse] = await pipeline.warehouse<{ n: number }>('SELECT count(*)::int AS n FROM fact_sales_order')
        assert.equal(warehouse!.n, source!.n - 1, 'every other row is loaded')
      })

      it('quarantines rows that break the dataset rules: a bad enum pairing, a quantity below one', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.source(ORDER, [1, 0, '2024-11-20', '2024-11-18 10:00:00'])
        await pipeline.source(
          "INSERT INTO transaction (transaction_type, sales_order_id, purchase_order_id, created_at, last_updated) VALUES ('PURCHASE', NULL, NULL, now(), '2024-11-18 10:00:00')",
        )
        const summary = await pipeline.cycle()
        const reasons = new Map<string, string>()
        for (const q of summary.transform.runs[0]!.quarantined) {
          reasons.set(q.table, (await pipeline.ctx.processed.getBytes(q.key)).toString('utf8'))
        }
        assert.match(reasons.get('sales_order') ?? '', /units_sold is below 1/)
        assert.match(reasons.get('transaction') ?? '', /a SALE must have sales_order_id/)
      })
    })

    describe('late-arriving dimensions', () => {
      it('holds a fact whose dimension row has not arrived, and loads it once it has', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        // A design stamped in the future: the window (never past the source's clock) leaves it for later.
        const [design] = await pipeline.source<{ design_id: number }>(
          "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
        )
        const [order] = await pipeline.source<{ sales_order_id: number }>(ORDER, [design!.design_id, 1234, '2024-11-22', '2024-11-19 11:00:00'])
        const first = await pipeline.cycle()
        const factLoad = first.load.runs[0]!.tables.find((t) => t.table === 'fact_sales_order')
        assert.equal(factLoad?.held, 1)
        const held = await pipeline.warehouse<{ sales_order_id: number }>('SELECT sales_order_id FROM _starline_held_fact_sales_order')
        assert.deepEqual(held, [{ sales_order_id: order!.sales_order_id }])

        // The design "arrives": its last_updated is now inside the next window. The run brings no sales orders.
        await pipeline.source('UPDATE design SET last_updated = clock_timestamp()::timestamp(3) WHERE design_id = $1', [design!.design_id])
        const second = await pipeline.cycle()
        assert.equal(second.extract.tables.find((t) => t.table === 'sales_order'), undefined)
        const released = second.load.runs[0]!.tables.find((t) => t.table === 'fact_sales_order')
        assert.deepEqual([released?.inserted, released?.held], [1, 0])
        const [waiting] = await pipeline.warehouse<{ n: number }>('SELECT count(*)::int AS n FROM _starline_held_fact_sales_order')
        assert.equal(waiting?.n, 0)
        await assertWarehouseMatchesSource(pipeline)
      })

      it('keeps the newest version current when an older one is released from hold later', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        const [design] = await pipeline.source<{ design_id: number }>(
          "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
        )
        // Version 2 waits for the late design; version 3 (an existing design) loads first.
        await pipeline.source('UPDATE sales_order SET design_id = $1, units_sold = 11111, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = 1', [design!.design_id])
        assert.equal((await pipeline.cycle()).load.runs[0]!.tables.find((t) => t.table === 'fact_sales_order')?.held, 1)
        await pipeline.source('UPDATE sales_order SET design_id = 1, units_sold = 22222, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = 1')
        await pipeline.cycle()
        await pipeline.source('UPDATE design SET last_updated = clock_timestamp()::timestamp(3) WHERE design_id = $1', [design!.design_id])
        await pipeline.cycle()

        const versions = await pipeline.warehouse<{ units_sold: number }>('SELECT units_sold FROM fact_sales_order WHERE sales_order_id = 1 ORDER BY sales_record_id')
        assert.deepEqual(versions.map((v) => v.units_sold).slice(-2), [22222, 11111], 'version 2 was released after version 3')
        const [current] = await pipeline.warehouse<{ units_sold: number }>('SELECT units_sold FROM fact_sales_order_current WHERE sales_order_id = 1')
        assert.equal(current?.units_sold, 22222)
        await assertWarehouseMatchesSource(pipeline)
      })

      it('holds such a fact in a bulk first load too', async () => {
        const pipeline = await fixture.pipeline({ lake })
        const [design] = await pipeline.source<{ design_id: number }>(
          "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
        )
        const [order] = await pipeline.source<{ sales_order_id: number }>(ORDER, [design!.design_id, 4321, '2024-11-22', '2024-11-18 11:00:00'])
        const first = await pipeline.cycle()
        const facts = first.load.runs[0]!.tables.find((t) => t.table === 'fact_sales_order')!
        assert.equal(facts.held, 1)
        assert.equal(facts.inserted, facts.rows - 1)
        const [loaded] = await pipeline.warehouse<{ n: number }>('SELECT count(*)::int AS n FROM fact_sales_order WHERE sales_order_id = $1', [order!.sales_order_id])
        assert.equal(loaded?.n, 0)

        await pipeline.source('UPDATE design SET last_updated = clock_timestamp()::timestamp(3) WHERE design_id = $1', [design!.design_id])
        await pipeline.cycle()
        await assertWarehouseMatchesSource(pipeline)
      })
    })

    describe('schema drift', () => {
      it('carries a new nullable source column along without breaking the run', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        await pipeline.source('ALTER TABLE design ADD COLUMN colour text')
        await pipeline.source("UPDATE design SET colour = 'teal', last_updated = '2024-11-19 09:00:00' WHERE design_id = 3")
        const summary = await pipeline.cycle()
        assert.deepEqual(summary.extract.schemaChanges, [{ table: 'design', column: 'colour', kind: 'added', to: 'text' }])
        const { manifest } = await readManifest(pipeline.ctx.ingestion, summary.extract.runId!)
        assert.ok(manifest.tables.find((t) => t.table === 'design')?.columns.some((c) => c.name === 'colour'), 'the lake keeps the new column')
        await assertWarehouseMatchesSource(pipeline)
      })

      it('stops before moving any data when a source column is dropped, saying what changed and what to do', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        await pipeline.source('ALTER TABLE design DROP COLUMN file_name')
        await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = '2024-11-19 09:00:00' WHERE sales_order_id = 1")
        const lakeBefore = [...(await listAll(pipeline.ctx.ingestion, '')), ...(await listAll(pipeline.ctx.processed, ''))]
        const warehouseBefore = await warehouseSnapshot(pipeline)

        await assert.rejects(pipeline.cycle(), (error: unknown) => {
          assert.ok(error instanceof SchemaDriftError)
          assert.match(error.message, /"design"\."file_name" was removed/)
          assert.match(error.message, /--accept-schema-change/)
          return true
        })
        // Only the failure's record is new (it is what `starline status` shows).
        const lakeAfter = [...(await listAll(pipeline.ctx.ingestion, '')), ...(await listAll(pipeline.ctx.processed, ''))]
        assert.deepEqual(lakeAfter.filter((o) => !o.key.startsWith('_failures/')), lakeBefore)
        const failures = lakeAfter.filter((o) => o.key.startsWith('_failures/'))
        assert.deepEqual(failures.map((o) => o.key.split('/').slice(0, 2).join('/')), ['_failures/extract'])
        assert.match((await pipeline.ctx.ingestion.getBytes(failures[0]!.key)).toString('utf8'), /"error":"SchemaDriftError".*file_name/)
        assert.deepEqual(await warehouseSnapshot(pipeline), warehouseBefore)
        assert.equal((await listRunIds(pipeline.ctx.ingestion)).length, 1)
      })

      it('records an accepted drop, after which a model that reads the column fails naming its file', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        await pipeline.source('ALTER TABLE design DROP COLUMN file_name')
        await pipeline.source("UPDATE design SET design_name = 'renamed', last_updated = '2024-11-19 09:00:00' WHERE design_id = 4")
        const accepted = await extract(pipeline.ctx, { ...extractOptions(pipeline.config), acceptSchemaChange: true })
        assert.deepEqual(accepted.schemaChanges.map((c) => [c.column, c.kind]), [['file_name', 'removed']])
        await assert.rejects(transform(pipeline.ctx), /Model "dim_design" failed on run \d+T\d+Z: .*Fix dim_design\.sql/)
        assert.equal((await listRunIds(pipeline.ctx.processed)).length, 1, 'no processed run was published for it')
        const again = await extract(pipeline.ctx, extractOptions(pipeline.config))
        assert.deepEqual(again.schemaChanges, [], 'the accepted schema is the new baseline')
      })

      it('stops when a source column changes type', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        await pipeline.source('ALTER TABLE sales_order ALTER COLUMN units_sold TYPE bigint')
        await assert.rejects(pipeline.cycle(), /"sales_order"\."units_sold" changed type from integer to bigint/)
      })
    })
  })
}
