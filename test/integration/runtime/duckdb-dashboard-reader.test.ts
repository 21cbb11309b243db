/**
 * The dashboard on DuckDB: the same chart SQL files answer with the same
 * numbers as on PostgreSQL. The DuckDB file is built from the pipeline's own
 * Parquet (one run, so each fact row is its latest version) plus the ledger,
 * in a schema other than the default.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { CHARTS } from '../../../src/runtime/http/charts.js'
import { DuckDbDashboardReader } from '../../../src/runtime/http/duckdb-dashboard-reader.js'
import { DashboardQueryError, ReadOnlyViolationError } from '../../../src/runtime/http/errors.js'
import { loadChartQueries } from '../../../src/runtime/http/charts.js'
import { PostgresDashboardReader } from '../../../src/runtime/http/postgres-dashboard-reader.js'
import { quoteIdent, quoteLiteral } from '../../../src/sql/quote.js'
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
    await pipeline.cycle()
    const instance = await DuckDBInstance.create(path)
    const db = await instance.connect()
    try {
      await db.run(`CREATE SCHEMA ${quoteIdent(SCHEMA)}`)
      const table = (name: string) => `${quoteIdent(SCHEMA)}.${quoteIdent(name)}`
      for (const model of pipeline.ctx.dataset.models) {
        const name = model.table.name
        const files = quoteLiteral(join(pipeline.lakeDir, 'processed', name, '**', '*.parquet'))
        await db.run(`CREATE TABLE ${table(name)} AS SELECT * FROM read_parquet(${files})`)
        if (model.table.kind === 'fact') {
          await db.run(`CREATE VIEW ${table(`${name}_current`)} AS SELECT * FROM ${table(name)}`)
          await db.run(`CREATE TABLE ${table(`_starline_held_${name}`)} (held_since_run varchar)`)
        }
      }
      await db.run(`CREATE TABLE ${table('_starline_loads')} (run_id varchar, dataset varchar, rows bigint, status varchar, loaded_at timestamptz)`)
      await db.run(`CREATE TABLE ${table('_starline_load_tables')} (run_id varchar, table_name varchar, rows bigint, inserted bigint, updated bigint, held bigint)`)
      for (const row of await pipeline.warehouse<Record<string, string>>('SELECT run_id, dataset, rows::text, status, loaded_at::text FROM _starline_loads')) {
        await db.run(`INSERT INTO ${table('_starline_loads')} VALUES ($1, $2, $3, $4, $5)`, [row.run_id!, row.dataset!, row.rows!, row.status!, row.loaded_at!])
      }
      for (const row of await pipeline.warehouse<Record<string, string>>(
        'SELECT run_id, table_name, rows::text, inserted::text, updated::text, held::text FROM _starline_load_tables',
      )) {
        await db.run(`INSERT INTO ${table('_starline_load_tables')} VALUES ($1, $2, $3, $4, $5, $6)`, Object.values(row))
      }
    } finally {
      db.closeSync()
      instance.closeSync()
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
        // Ages move on between the two reads; every other value must be the same text.
        const steady = (rows: readonly Record<string, string | null>[]) => rows.map(({ age_seconds: _age, ...rest }) => rest)
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
