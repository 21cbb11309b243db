import assert from 'node:assert/strict'
import { request } from 'node:http'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { CHARTS, chartQueryUrl } from '../../../src/runtime/http/charts.js'
import { collectStatus } from '../../../src/observe/status.js'
import { extract } from '../../../src/pipeline/extract.js'
import { startDashboard, type DashboardServer } from '../../../src/runtime/http/dashboard-server.js'
import { statusFreshness } from '../../../src/runtime/http/freshness.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { DashboardQueryError, ReadOnlyViolationError } from '../../../src/runtime/http/errors.js'
import { PostgresDashboardReader } from '../../../src/runtime/http/postgres-dashboard-reader.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

/** One raw HTTP exchange, so the test controls the path and Host header exactly as sent. */
function raw(url: string, options: { method?: string; path: string; host?: string; body?: string }): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Runs `sql` on its own connection with every value as the server's text, as the page would show it exactly. */
async function directly(url: string, sql: string): Promise<Record<string, string | null>[]> {
  const client = new pg.Client({ connectionString: url, types: { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig })
  await client.connect()
  try {
    await client.query('SET TimeZone = UTC')
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

describe('dashboard server', () => {
  const fixture = new PipelineFixture()
  let pipeline: Pipeline
  let reader: PostgresDashboardReader
  let server: DashboardServer

  before(async () => {
    await fixture.start()
    pipeline = await fixture.pipeline()
    await pipeline.cycle()
    reader = new PostgresDashboardReader({ url: pipeline.warehouseUrl, schema: 'public' })
    server = await startDashboard({ reader, port: 0 })
  })

  after(async () => {
    await server?.close()
    await reader?.close()
    await fixture.stop()
  })

  it('listens on 127.0.0.1 when no host is given', () => {
    assert.equal(server.host, '127.0.0.1')
    assert.equal(server.url, `http://127.0.0.1:${server.port}/`)
  })

  it('serves the page, its script and Chart.js', async () => {
    for (const path of ['/', '/dashboard.js', '/dashboard.css', '/vendor/chart.umd.js']) {
      const response = await fetch(new URL(path, server.url))
      assert.equal(response.status, 200, path)
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/)
    }
  })

  it('answers every chart with exactly the rows its SQL file gives when run directly', async () => {
    for (const chart of CHARTS) {
      const response = await fetch(new URL(`/api/charts/${chart}`, server.url))
      assert.equal(response.status, 200, chart)
      const body = (await response.json()) as { chart: string; engine: string; rows: Record<string, string | null>[] }
      assert.equal(body.engine, 'postgres')
      assert.ok(body.rows.length > 0, `${chart} has rows`)
      const expected = await directly(pipeline.warehouseUrl, await readFile(chartQueryUrl(chart), 'utf8'))
      // The age moves on between the two reads; everything else must match to the character.
      // Lag and verdict are the server's (no lake given here: unknown), not the SQL's.
      const withoutAge = (rows: Record<string, string | null>[]) => rows.map(({ age_seconds: _age, lag_seconds: _lag, freshness: _f, ...rest }) => rest)
      assert.deepEqual(withoutAge(body.rows), withoutAge(expected), chart)
      if (chart === 'health-freshness') assert.ok(body.rows.every((r) => r.freshness === null && r.lag_seconds === null), 'no lake: freshness unknown')
    }
  })

  it('judges freshness as status does, by the pipeline lag against the target, not by the age of the last load', async () => {
    const own = await fixture.pipeline({ scale: 0.05 })
    await own.cycle()
    const ownReader = new PostgresDashboardReader({ url: own.warehouseUrl, schema: 'public' })
    // A target of 0: any change extracted and not yet loaded makes the tables stale.
    const freshness = statusFreshness({ ...own.ctx, reader: ownReader, freshnessTargetMs: 0, cacheMs: 0 })
    const judged = await startDashboard({ reader: ownReader, port: 0, freshness })
    const panel = async () => ((await (await fetch(new URL('/api/charts/health-freshness', judged.url))).json()) as { rows: Record<string, string | null>[] }).rows
    try {
      const loaded = await panel()
      assert.ok(loaded.length > 0)
      assert.deepEqual(loaded.map((r) => [r.freshness, r.lag_seconds]), loaded.map(() => ['fresh', '0']), 'everything extracted is loaded: no lag')
      await own.source("UPDATE design SET design_name = 'renamed', last_updated = clock_timestamp()::timestamp(3) WHERE design_id = 1")
      await extract(own.ctx, extractOptions(own.config))
      const waiting = await panel()
      assert.deepEqual(waiting.map((r) => r.freshness), waiting.map(() => 'stale'), 'an extracted run waits for its load')
      const status = await collectStatus({ ...own.ctx, warehouse: { loadedRuns: async () => (await own.warehouse<{ run_id: string }>('SELECT run_id FROM _starline_loads')).map((r) => ({ runId: r.run_id })) }, schema: 'public', freshnessTargetMs: 0 })
      assert.ok(status.warehouse.every((t) => !t.fresh), 'status agrees')
    } finally {
      await judged.close()
      await ownReader.close()
    }
  })

  it('keeps money exact: sales revenue per currency adds up to the facts, to the penny', async () => {
    const body = (await (await fetch(new URL('/api/charts/sales-by-month', server.url))).json()) as { rows: { currency_code: string; revenue: string }[] }
    const cents = new Map<string, bigint>()
    for (const row of body.rows) {
      assert.match(row.revenue, /^\d+\.\d{2}$/)
      cents.set(row.currency_code, (cents.get(row.currency_code) ?? 0n) + BigInt(row.revenue.replace('.', '')))
    }
    const facts = await pipeline.warehouse<{ currency_code: string; total: string }>(
      `SELECT c.currency_code, sum(f.units_sold * f.unit_price)::text AS total
         FROM (SELECT DISTINCT ON (sales_order_id) * FROM fact_sales_order ORDER BY sales_order_id, last_updated_date DESC, last_updated_time DESC, sales_record_id DESC) f
         JOIN dim_currency c USING (currency_id) GROUP BY c.currency_code`,
    )
    assert.deepEqual(
      Object.fromEntries([...cents].map(([code, total]) => [code, `${total / 100n}.${String(total % 100n).padStart(2, '0')}`])),
      Object.fromEntries(facts.map((row) => [row.currency_code, row.total])),
    )
  })

  it('answers the quarantine panel with 404 saying why when no lake is configured', async () => {
    const response = await raw(server.url, { path: '/api/lake/quarantine' })
    assert.equal(response.status, 404)
    assert.match(JSON.parse(response.body).error, /No lake is configured.*STARLINE_PROCESSED_URL/)
  })

  it('answers an unknown chart with 404 naming the charts there are', async () => {
    const response = await raw(server.url, { path: '/api/charts/drop-everything' })
    assert.equal(response.status, 404)
    assert.match(JSON.parse(response.body).error, /No chart named "drop-everything".*sales-by-month/)
  })

  it('takes no SQL from the request: parameters are refused, other methods are not allowed, paths reach no file', async () => {
    const before = await pipeline.warehouse<{ n: string }>('SELECT count(*)::text AS n FROM dim_staff')
    const withSql = await raw(server.url, { path: '/api/charts/sales-by-month?sql=DROP%20TABLE%20dim_staff' })
    assert.equal(withSql.status, 400)
    assert.match(JSON.parse(withSql.body).error, /take no parameters/)
    const posted = await raw(server.url, { method: 'POST', path: '/api/charts/sales-by-month', body: 'DROP TABLE dim_staff' })
    assert.equal(posted.status, 405)
    for (const path of ['/api/charts/..%2F..%2Fpackage.json', '/../../package.json', '/queries/sales-by-month.sql', '/api/charts/sales-by-month;DROP']) {
      assert.equal((await raw(server.url, { path })).status, 404, path)
    }
    assert.deepEqual(await pipeline.warehouse('SELECT count(*)::text AS n FROM dim_staff'), before)
  })

  it('refuses a request addressed to another host name (DNS rebinding)', async () => {
    const response = await raw(server.url, { path: '/api/charts', host: `evil.example:${server.port}` })
    assert.equal(response.status, 421)
    assert.equal((await raw(server.url, { path: '/api/charts', host: `localhost:${server.port}` })).status, 200)
  })

  describe('PostgresDashboardReader', () => {
    it('refuses a write: the session and each request are read-only', async () => {
      await assert.rejects(reader.read('CREATE TABLE dashboard_wrote_this (a int)'), ReadOnlyViolationError)
      await assert.rejects(reader.read('DELETE FROM dim_staff'), ReadOnlyViolationError)
      // One statement only: a query cannot end the read-only transaction and write after it.
      await assert.rejects(reader.read('COMMIT; SET default_transaction_read_only = off; CREATE TABLE dashboard_wrote_this (a int)'), DashboardQueryError)
      const tables = await pipeline.warehouse("SELECT 1 FROM information_schema.tables WHERE table_name = 'dashboard_wrote_this'")
      assert.deepEqual(tables, [])
      assert.ok((await pipeline.warehouse('SELECT 1 FROM dim_staff LIMIT 1')).length === 1)
    })

    it('returns every value as exact text and nulls as null', async () => {
      const result = await reader.read(
        "SELECT 9007199254740993::bigint AS big, 12345678.90::numeric(10,2) AS money, NULL::text AS nothing, '2024-11-19 08:00:00.123'::timestamp AS at, true AS yes",
      )
      assert.deepEqual(result.columns, ['big', 'money', 'nothing', 'at', 'yes'])
      assert.deepEqual(result.rows, [{ big: '9007199254740993', money: '12345678.90', nothing: null, at: '2024-11-19 08:00:00.123', yes: 't' }])
    })

    it('resolves the chart queries in the warehouse schema, whatever its name', async () => {
      const schema = 'we"ird schema'
      await pipeline.warehouse(`CREATE SCHEMA ${quoteIdent(schema)}`)
      await pipeline.warehouse(`CREATE TABLE ${qualify(schema, 'dim_currency')} AS SELECT 7 AS currency_id, 'XTS'::text AS currency_code`)
      const elsewhere = new PostgresDashboardReader({ url: pipeline.warehouseUrl, schema })
      try {
        assert.deepEqual((await elsewhere.read('SELECT currency_id, currency_code FROM dim_currency')).rows, [{ currency_id: '7', currency_code: 'XTS' }])
      } finally {
        await elsewhere.close()
        await pipeline.warehouse(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`)
      }
    })

    it('stops a query past the statement timeout as a retryable failure', async () => {
      const impatient = new PostgresDashboardReader({ url: pipeline.warehouseUrl, schema: 'public', statementTimeoutMs: 50 })
      try {
        await assert.rejects(impatient.read('SELECT pg_sleep(5)'), (error: unknown) => error instanceof DashboardQueryError && error.retryable)
      } finally {
        await impatient.close()
      }
    })

    it('names the missing table and says to load first on an empty warehouse', async () => {
      const empty = new PostgresDashboardReader({ url: pipeline.warehouseUrl, schema: 'no_such_schema' })
      try {
        await assert.rejects(empty.read('SELECT * FROM fact_sales_order_current'), /fact_sales_order_current.*Run starline load first/)
      } finally {
        await empty.close()
      }
    })
  })
})
