/**
 * The ToteSys pipeline end to end against real PostgreSQL databases: the
 * warehouse is compared with the source row for row. Every test runs with the
 * lake on disk and on S3 (moto_server).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { simulateActivity } from '../../../src/datasets/totesys/simulator.js'
import { listAll } from '../../../src/lake/object-store.js'
import { listRunIds, readManifest } from '../../../src/lake/manifest.js'
import { objectUrlOf } from '../../../src/lake/object-store.js'
import { load } from '../../../src/pipeline/load.js'
import { extract } from '../../../src/pipeline/extract.js'
import { formatExtract } from '../../../src/observe/summary-text.js'
import { extractOptions, loadOptions, openConfiguredWarehouse } from '../../../src/runtime/pipeline-setup.js'
import { openSource } from '../../../src/source/open-source.js'
import { MOTO_MISSING } from '../../support/moto-server.js'
import { LAKE_KINDS, PipelineFixture, warehouseSnapshot, type Pipeline } from '../../support/pipeline-fixture.js'
import { quoteIdent, quoteIdentList, quoteLiteral } from '../../../src/sql/quote.js'
import { fileURLToPath } from 'node:url'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import { heldTableName } from '../../../src/schema/table-spec.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

describe('ToteSys pipeline into PostgreSQL', () => {
  it('gives the same warehouse from a lake on S3 as from a lake on disk', { skip: MOTO_MISSING }, async () => {
    const onDisk = await fixture.pipeline({ lake: 'fs' })
    const onS3 = await fixture.pipeline({ lake: 's3' })
    await onDisk.cycle()
    await onS3.cycle()
    assert.match(onS3.ctx.processed.root, /^s3:\/\//)
    assert.deepEqual(await warehouseSnapshot(onS3), await warehouseSnapshot(onDisk))
  })
})

for (const lake of LAKE_KINDS) {
  describe(`lake on ${lake}`, { skip: lake === 's3' ? MOTO_MISSING : undefined }, () => {
    describe('one cycle', () => {
      let pipeline: Pipeline

      before(async () => {
        pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
      })

      it('loads every dimension and fact equal to the source, column by column', async () => {
        await assertWarehouseMatchesSource(pipeline)
      })

      it('loads one fact row per source row, with money sums per currency equal to the source', async () => {
        const sums: Record<string, [string, string]> = {
          fact_sales_order: [
            'SELECT currency_id, count(*)::text AS n, sum(units_sold * unit_price)::text AS total FROM sales_order GROUP BY 1 ORDER BY 1',
            'SELECT currency_id, count(*)::text AS n, sum(units_sold * unit_price)::text AS total FROM fact_sales_order GROUP BY 1 ORDER BY 1',
          ],
          fact_purchase_order: [
            'SELECT currency_id, count(*)::text AS n, sum(item_quantity * item_unit_price)::text AS total FROM purchase_order GROUP BY 1 ORDER BY 1',
            'SELECT currency_id, count(*)::text AS n, sum(item_quantity * item_unit_price)::text AS total FROM fact_purchase_order GROUP BY 1 ORDER BY 1',
          ],
          fact_payment: [
            'SELECT currency_id, count(*)::text AS n, sum(payment_amount)::text AS total FROM payment GROUP BY 1 ORDER BY 1',
            'SELECT currency_id, count(*)::text AS n, sum(payment_amount)::text AS total FROM fact_payment GROUP BY 1 ORDER BY 1',
          ],
        }
        for (const [table, [sourceSql, warehouseSql]] of Object.entries(sums)) {
          const expected = await pipeline.source(sourceSql)
          assert.equal(expected.length, 3, `${table}: three currencies in the source`)
          assert.deepEqual(await pipeline.warehouse(warehouseSql), expected, `${table}: counts and sums per currency`)
        }
      })

      it('names currencies from their ISO code', async () => {
        const rows = await pipeline.warehouse<{ currency_code: string; currency_name: string }>(
          'SELECT currency_code, currency_name FROM dim_currency ORDER BY currency_code',
        )
        assert.deepEqual(rows, [
          { currency_code: 'EUR', currency_name: 'Euro' },
          { currency_code: 'GBP', currency_name: 'British Pound' },
          { currency_code: 'USD', currency_name: 'US Dollar' },
        ])
      })

      it('builds dim_date over every date the facts refer to, with ISO day_of_week', async () => {
        const [gaps] = await pipeline.warehouse<{ n: string }>(
          `SELECT count(*)::text AS n FROM generate_series((SELECT min(date_id) FROM dim_date), (SELECT max(date_id) FROM dim_date), interval '1 day') g
            WHERE g::date NOT IN (SELECT date_id FROM dim_date)`,
        )
        assert.equal(gaps?.n, '0')
        const [monday] = await pipeline.warehouse(
          "SELECT year, month, day, day_of_week, day_name, month_name, quarter FROM dim_date WHERE date_id = '2024-11-18'",
        )
        assert.deepEqual(monday, { year: 2024, month: 11, day: 18, day_of_week: 1, day_name: 'Monday', month_name: 'November', quarter: 4 })
        const [sunday] = await pipeline.warehouse("SELECT day_of_week FROM dim_date WHERE date_id = '2024-11-17'")
        assert.equal(sunday?.day_of_week, 7)
      })

      it('keeps milliseconds in times, including values whose milliseconds are zero', async () => {
        const [source] = await pipeline.source<{ n: string }>("SELECT count(*)::text AS n FROM sales_order WHERE to_char(created_at, 'MS') = '000'")
        const [warehouse] = await pipeline.warehouse<{ n: string; fractions: string }>(
          `SELECT count(*) FILTER (WHERE to_char(created_time, 'MS') = '000')::text AS n,
                  count(*) FILTER (WHERE to_char(created_time, 'MS') <> '000')::text AS fractions FROM fact_sales_order`,
        )
        assert.ok(Number(source?.n) > 0, 'the generated source has .000 timestamps')
        assert.equal(warehouse?.n, source?.n)
        assert.ok(Number(warehouse?.fractions) > 0)
      })

      it('records each loaded run in the ledger with its row counts', async () => {
        const ledger = await pipeline.warehouse<{ run_id: string; rows: string; status: string }>('SELECT run_id, rows::text, status FROM _starline_loads')
        const runIds = await listRunIds(pipeline.ctx.processed)
        assert.deepEqual(
          ledger.map((r) => r.run_id),
          runIds,
        )
        const { manifest } = await readManifest(pipeline.ctx.processed, runIds[0]!)
        assert.equal(
          Number(ledger[0]?.rows),
          manifest.tables.reduce((s, t) => s + t.rows, 0),
        )
        assert.equal(ledger[0]?.status, 'loaded')
      })

      it('writes each fact file in its append order, says so in the manifest, and numbers record ids in that order', async () => {
        const [runId] = await listRunIds(pipeline.ctx.processed)
        const { manifest } = await readManifest(pipeline.ctx.processed, runId!)
        const facts = TOTESYS.models.map((m) => m.table).filter((spec) => spec.kind === 'fact')
        assert.equal(facts.length, 3)
        const db = lake === 'fs' ? await openDuckDb({ scratchDir: pipeline.lakeDir }) : undefined
        try {
          for (const spec of facts) {
            const order = quoteIdentList(spec.appendOrder!)
            const entry = manifest.tables.find((t) => t.table === spec.name)
            assert.deepEqual(entry?.orderedBy, spec.appendOrder, spec.name)
            if (db) {
              const file = quoteLiteral(fileURLToPath(objectUrlOf(pipeline.ctx.processed, entry!.key)))
              const [check] = await db.all<{ rows: string; misplaced: string }>(
                `SELECT count(*)::VARCHAR AS rows, count(*) FILTER (WHERE file_row_number + 1 <> place)::VARCHAR AS misplaced
                   FROM (SELECT file_row_number, row_number() OVER (ORDER BY ${order}) AS place FROM read_parquet(${file}, file_row_number = true))`,
              )
              assert.deepEqual(check, { rows: String(entry!.rows), misplaced: '0' }, spec.name)
            }
            // Independent of how the load numbered: one run, nothing held, so ids are 1.. in append order.
            const [numbered] = await pipeline.warehouse<{ rows: string; wrong: string; held: string }>(
              `SELECT count(*)::text AS rows, count(*) FILTER (WHERE ${quoteIdent(spec.recordId!)} <> place)::text AS wrong,
                      (SELECT count(*) FROM ${quoteIdent(heldTableName(spec))})::text AS held
                 FROM (SELECT ${quoteIdent(spec.recordId!)}, row_number() OVER (ORDER BY ${order}) AS place FROM ${quoteIdent(spec.name)}) AS f`,
            )
            assert.deepEqual(numbered, { rows: String(entry!.rows), wrong: '0', held: '0' }, spec.name)
          }
        } finally {
          db?.close()
        }
      })
    })

    describe('incremental runs', () => {
      it('adds each new source version as a new fact row after a simulated day, and changes nothing else', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        const before = await warehouseSnapshot(pipeline)
        const [{ max }] = (await pipeline.source<{ max: string }>(
          `SELECT max(last_updated)::text AS max FROM (SELECT last_updated FROM sales_order UNION ALL SELECT last_updated FROM payment
            UNION ALL SELECT last_updated FROM purchase_order) t`,
        )) as [{ max: string }]

        const client = new pg.Client({ connectionString: pipeline.sourceUrl })
        await client.connect()
        const day = await simulateActivity(client, { days: 1, seed: 3, silentEditChance: 0 })
        await client.end()
        assert.ok(day.salesOrders > 0 && day.paymentsPaid > 0, 'the simulated day has new orders and paid payments')

        const summary = await pipeline.cycle()
        const after = await warehouseSnapshot(pipeline)
        for (const table of ['fact_sales_order', 'fact_purchase_order', 'fact_payment']) {
          assert.deepEqual(after[table]!.slice(0, before[table]!.length), before[table], `${table}: existing rows are untouched`)
        }
        const changed = {
          fact_sales_order: 'SELECT count(*)::int AS n FROM sales_order WHERE last_updated > $1',
          fact_purchase_order: 'SELECT count(*)::int AS n FROM purchase_order WHERE last_updated > $1',
          fact_payment: 'SELECT count(*)::int AS n FROM payment WHERE last_updated > $1',
        }
        for (const [table, sql] of Object.entries(changed)) {
          const [row] = await pipeline.source<{ n: number }>(sql, [max])
          assert.equal(after[table]!.length - before[table]!.length, row?.n, `${table}: one new row per new source version`)
        }
        const [paidTwice] = await pipeline.warehouse<{ n: string }>(
          `SELECT count(*)::text AS n FROM (SELECT payment_id FROM fact_payment GROUP BY payment_id
             HAVING bool_or(paid) AND bool_or(NOT paid)) t`,
        )
        assert.ok(Number(paidTwice?.n) >= 1, 'a payment flipping to paid has its unpaid and its paid version')
        assert.equal(summary.load.runs.length, 1)
        await assertWarehouseMatchesSource(pipeline)
      })

      it('adds nothing anywhere when run again without source changes', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        const lakeBefore = [...(await listAll(pipeline.ctx.ingestion, '')), ...(await listAll(pipeline.ctx.processed, ''))]
        const warehouseBefore = await warehouseSnapshot(pipeline)

        const again = await pipeline.cycle()
        assert.equal(again.extract.runId, undefined)
        assert.equal(again.transform.runs.length, 0)
        assert.equal(again.load.runs.length, 0)
        const lakeAfter = [...(await listAll(pipeline.ctx.ingestion, '')), ...(await listAll(pipeline.ctx.processed, ''))]
        assert.deepEqual(lakeAfter, lakeBefore)
        assert.deepEqual(await warehouseSnapshot(pipeline), warehouseBefore)
      })

      it('neither loses nor doubles rows that share a last_updated value across the boundary of two runs', async () => {
        const pipeline = await fixture.pipeline({ lake })
        const shared = '2024-11-19 10:00:00.500'
        const insertOrder = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
            agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
          VALUES (1, 1, 1, $1, 2.50, 1, '2024-11-20', '2024-11-21', 1, $2, $2) RETURNING sales_order_id`
        for (const units of [1001, 1002, 1003]) await pipeline.source(insertOrder, [units, shared])
        const first = await pipeline.cycle()
        assert.equal(first.extract.window?.to, shared, 'the first window ends on the shared timestamp')

        // The next run starts after the shared value: rows at it are not taken again.
        for (const units of [2001, 2002]) await pipeline.source(insertOrder, [units, '2024-11-19 10:00:00.501'])
        const second = await pipeline.cycle()
        assert.equal(second.extract.tables.find((t) => t.table === 'sales_order')?.rows, 2)

        const counts = await pipeline.warehouse<{ units_sold: number; n: number }>(
          'SELECT units_sold, count(*)::int AS n FROM fact_sales_order WHERE units_sold IN (1001, 1002, 1003, 2001, 2002) GROUP BY 1 ORDER BY 1',
        )
        assert.deepEqual(
          counts,
          [1001, 1002, 1003, 2001, 2002].map((units_sold) => ({ units_sold, n: 1 })),
        )
        await assertWarehouseMatchesSource(pipeline)
      })

      it('holds the window back for a transaction that commits late, then takes its rows once', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        const late = new pg.Client({ connectionString: pipeline.sourceUrl })
        await late.connect()
        try {
          // The application stamps rows with now(): its transaction's start, visible only at commit.
          await late.query('BEGIN')
          await late.query(`INSERT INTO design (design_name, file_location, file_name, created_at, last_updated)
                            VALUES ('late', '/late', 'late.json', now(), now())`)
          // Committed rows stamped at the same instant and later.
          await new Promise((resolve) => setTimeout(resolve, 20))
          await pipeline.source(`INSERT INTO design (design_name, file_location, file_name, created_at, last_updated)
                                 VALUES ('early', '/early', 'early.json', now(), now())`)
          const held = await pipeline.cycle()
          assert.ok(held.extract.heldBackByTransactionMs !== undefined, 'the open transaction held the window back')
          const [seen] = await pipeline.warehouse<{ n: number }>("SELECT count(*)::int AS n FROM dim_design WHERE design_name IN ('late', 'early')")
          assert.equal(seen?.n, 0, 'nothing at or after the open transaction start is taken yet')
          await late.query('COMMIT')
        } finally {
          await late.end()
        }
        await pipeline.cycle()
        const names = await pipeline.warehouse<{ design_name: string }>("SELECT design_name FROM dim_design WHERE design_name IN ('late', 'early') ORDER BY 1")
        assert.deepEqual(
          names.map((r) => r.design_name),
          ['early', 'late'],
        )
        await assertWarehouseMatchesSource(pipeline)
      })

      it("says so when the source user cannot see other users' transactions", async () => {
        const pipeline = await fixture.pipeline({ lake })
        // Roles belong to the whole server, which both lakes' runs of this test share.
        const reader = `starline_reader_${lake}`
        await pipeline.source(`CREATE ROLE ${quoteIdent(reader)} LOGIN PASSWORD 'reader'`)
        await pipeline.source(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${quoteIdent(reader)}`)
        const url = new URL(pipeline.sourceUrl)
        url.username = reader
        url.password = 'reader'
        const summary = await extract(pipeline.ctx, { ...extractOptions(pipeline.config), source: openSource(url.toString(), { schema: 'public' }) })
        assert.equal(summary.seesAllSessions, false)
        assert.match(formatExtract(summary), /grant it pg_read_all_stats/)
        await pipeline.source(`GRANT pg_read_all_stats TO ${quoteIdent(reader)}`)
        await pipeline.source("UPDATE design SET file_location = '/x', last_updated = '2024-11-19 09:00:00' WHERE design_id = 1")
        const granted = await extract(pipeline.ctx, { ...extractOptions(pipeline.config), source: openSource(url.toString(), { schema: 'public' }) })
        assert.equal(granted.seesAllSessions, true)
        await pipeline.source(`DROP OWNED BY ${quoteIdent(reader)}`)
      })

      it('keeps nulls null and empty strings empty', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.source(`INSERT INTO address (address_line_1, address_line_2, district, city, postal_code, country, phone, created_at, last_updated)
                               VALUES ('1 "Quoted", Lane', '', NULL, 'Leeds', 'LS1 1AA', 'UK', '0113', '2024-11-18 09:00:00', '2024-11-18 09:00:00')`)
        await pipeline.cycle()
        const [row] = await pipeline.warehouse("SELECT address_line_1, address_line_2, district FROM dim_location WHERE address_line_1 LIKE '1 %'")
        assert.deepEqual(row, { address_line_1: '1 "Quoted", Lane', address_line_2: '', district: null })
      })
    })

    describe('loading again', () => {
      it('changes nothing when a processed run is loaded again', async () => {
        const pipeline = await fixture.pipeline({ lake })
        await pipeline.cycle()
        const before = await warehouseSnapshot(pipeline)
        const warehouse = await openConfiguredWarehouse(pipeline.config)
        try {
          const again = await load(pipeline.ctx, loadOptions(pipeline.config, warehouse))
          assert.equal(again.runs.length, 0)
          const [runId] = await listRunIds(pipeline.ctx.processed)
          const { manifest, sha256 } = await readManifest(pipeline.ctx.processed, runId!)
          const result = await warehouse.loadRun({
            schema: 'public',
            dataset: 'totesys',
            runId: runId!,
            manifestSha256: sha256,
            facts: pipeline.ctx.dataset.models.map((m) => m.table).filter((t) => t.kind === 'fact'),
            tables: await Promise.all(
              manifest.tables.map(async (t) => ({
                spec: pipeline.ctx.dataset.models.find((m) => m.table.name === t.table)!.table,
                rows: t.rows,
                key: t.key,
                objectUrl: objectUrlOf(pipeline.ctx.processed, t.key),
                path: await pipeline.ctx.processed.localPath(t.key, pipeline.lakeDir),
              })),
            ),
          })
          assert.equal(result.status, 'already-loaded')
        } finally {
          await warehouse.close()
        }
        assert.deepEqual(await warehouseSnapshot(pipeline), before)
      })
    })
  })
}
