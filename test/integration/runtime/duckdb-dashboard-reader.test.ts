/**
 * The dashboard on DuckDB: the same chart SQL files answer with the same
 * numbers as on PostgreSQL, over a DuckDB warehouse loaded from the same
 * processed lake as the PostgreSQL one.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CHARTS, loadChartQueries } from '../../../src/runtime/http/charts.js'
import { DuckDbDashboardReader } from '../../../src/runtime/http/duckdb-dashboard-reader.js'
import { DashboardQueryError, ReadOnlyViolationError } from '../../../src/runtime/http/errors.js'
import { PostgresDashboardReader } from '../../../src/runtime/http/postgres-dashboard-reader.js'
import { load } from '../../../src/pipeline/load.js'
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const SCHEMA = 'dash board' // a name that needs quoting

describe('DuckDbDashboardReader', () => {
  const fixture = new PipelineFixture()
  const dir = mkdtempSync(join(tmpdir(), 'starline-duckdb-dashboard-'))
  const path = join(dir, 'warehouse.duckdb')
  let pipeline: Pipeline

  before(async () => {
    await fixture.start()
    pipeline = await fixture.pipeline()
    // A sales order whose design has not arrived: held in both warehouses, so the held panel counts.
    const [design] = await pipeline.source<{ design_id: number }>(
      "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
    )
    await pipeline.source(
      `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
          agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
        VALUES ($1, 1, 1, 4321, 2.50, 1, '2024-11-22', '2024-11-21', 1, '2024-11-18 11:00:00', '2024-11-18 11:00:00')`,
      [design!.design_id],
    )
    await pipeline.cycle()
    // The same processed lake, loaded into a DuckDB warehouse in a schema whose name needs quoting.
    const warehouse = new DuckDbWarehouse({ path, scratchDir: dir })
    try {
      await load(pipeline.ctx, { warehouse, schema: SCHEMA })
    } finally {
      await warehouse.close()
    }
  })

  after(async () => {
    await fixture.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers every chart with the same rows as PostgreSQL does', async () => {
    const queries = await loadChartQueries()
    const duck = new DuckDbDashboardReader({ path, schema: SCHEMA })
    const postgres = new PostgresDashboardReader({ url: pipeline.warehouseUrl, schema: 'public' })
    try {
      for (const chart of CHARTS) {
        const sql = queries.get(chart)!
        const onDuckDb = await duck.read(sql)
        const onPostgres = await postgres.read(sql)
        assert.deepEqual(onDuckDb.columns, onPostgres.columns, chart)
        assert.ok(onDuckDb.rows.length > 0, `${chart} has rows`)
        if (chart === 'health-held') assert.ok(onDuckDb.rows.some((r) => r.held_rows === '1'), 'the held order counts')
        // Each warehouse stamps its own load time (same UTC text form on both); every other value must be the same text.
        const LOAD_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00$/
        const steady = (rows: readonly Record<string, string | null>[]) =>
          rows.map(({ age_seconds: _age, loaded_at, last_loaded_at, ...rest }) => {
            for (const at of [loaded_at, last_loaded_at]) if (at !== undefined) assert.match(at ?? '', LOAD_TIME, chart)
            return rest
          })
        assert.deepEqual(steady(onDuckDb.rows), steady(onPostgres.rows), chart)
      }
    } finally {
      await postgres.close()
    }
  })

  it('refuses a write: the file is opened read-only', async () => {
    const duck = new DuckDbDashboardReader({ path, schema: SCHEMA })
    await assert.rejects(duck.read('DELETE FROM dim_staff'), ReadOnlyViolationError)
    await assert.rejects(duck.read('CREATE TABLE dashboard_wrote_this (a int)'), ReadOnlyViolationError)
    const [row] = (await duck.read('SELECT count(*) AS n FROM dim_staff')).rows
    assert.equal(row?.n, String((await pipeline.warehouse('SELECT 1 FROM dim_staff')).length))
  })

  it('returns every value as exact text and nulls as null', async () => {
    const duck = new DuckDbDashboardReader({ path, schema: SCHEMA })
    const result = await duck.read("SELECT 9007199254740993::BIGINT AS big, 12345678.90::DECIMAL(10,2) AS money, NULL::VARCHAR AS nothing, DATE '2024-11-19' AS day")
    assert.deepEqual(result.rows, [{ big: '9007199254740993', money: '12345678.90', nothing: null, day: '2024-11-19' }])
  })

  it('fails with a clear message when the file cannot be opened', async () => {
    const missing = new DuckDbDashboardReader({ path: join(dir, 'no-such-dir', 'warehouse.duckdb'), schema: SCHEMA })
    await assert.rejects(missing.read('SELECT 1'), (error: unknown) => error instanceof DashboardQueryError && /Cannot open the DuckDB warehouse/.test(error.message))
  })
})
