/**
 * The dashboard in a real headless browser (Debian's chromium through
 * playwright-core) over a warehouse filled by the pipeline: the numbers the
 * page shows, read back from its data tables and its charts, equal what SQL
 * written independently here computes from the fact tables.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { chromium, type Browser, type Page } from 'playwright-core'
import { simulateActivity } from '../../src/datasets/totesys/simulator.js'
import { listRunIds, readManifest } from '../../src/lake/manifest.js'
import { CHARTS, chartQueryUrl } from '../../src/runtime/http/charts.js'
import { startDashboard, type DashboardServer } from '../../src/runtime/http/dashboard-server.js'
import { statusFreshness } from '../../src/runtime/http/freshness.js'
import { PostgresDashboardReader } from '../../src/runtime/http/postgres-dashboard-reader.js'
import { PipelineFixture, type Pipeline } from '../support/pipeline-fixture.js'

const CHROMIUM = process.env.STARLINE_CHROMIUM ?? '/usr/bin/chromium'
// Flags from testing-aws.md: no sandbox as root, and no background traffic to a closed network.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const SCREENSHOT = 'test-artifacts/dashboard.png'

type Row = Record<string, string | null>

/** The page's body state, read in the browser (the test compiles without the DOM library). */
const bodyState = () => (globalThis as unknown as { document: { body: { dataset: { state?: string } } } }).document.body.dataset.state

/** Every row of a chart's data table, as the exact values its cells carry. */
function tableRows(page: Page, chart: string): Promise<Row[]> {
  return page.$$eval(`table[data-chart="${chart}"] tbody tr`, (trs) =>
    trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.column ?? '', td.dataset.value ?? null]))),
  )
}

/** What a chart draws: its labels, and per series the values plotted. */
function plotted(page: Page, chart: string): Promise<{ labels: string[]; series: Record<string, (number | null)[]> }> {
  return page.$eval(`[data-chart="${chart}"] canvas`, (canvas) => {
    const drawn = (globalThis as unknown as { Chart: { getChart(c: unknown): { data: { labels: string[]; datasets: { label: string; data: (number | null)[] }[] } } } }).Chart.getChart(canvas)
    return { labels: drawn.data.labels, series: Object.fromEntries(drawn.data.datasets.map((d) => [d.label, d.data])) }
  })
}

function pick(rows: Row[], columns: readonly string[]): Row[] {
  return rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null])))
}

const LATEST_SALES = `(SELECT DISTINCT ON (sales_order_id) * FROM fact_sales_order
   ORDER BY sales_order_id, last_updated_date DESC, last_updated_time DESC, sales_record_id DESC)`
const LATEST_PAYMENTS = `(SELECT DISTINCT ON (payment_id) * FROM fact_payment
   ORDER BY payment_id, last_updated_date DESC, last_updated_time DESC, payment_record_id DESC)`

describe('dashboard in a browser', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: apt-get install -y chromium (or set STARLINE_CHROMIUM)` }, () => {
  const fixture = new PipelineFixture()
  let pipeline: Pipeline
  let reader: PostgresDashboardReader
  let server: DashboardServer
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  before(async () => {
    await fixture.start()
    pipeline = await fixture.pipeline()
    await pipeline.cycle()
    // A trading day later: new orders and payments paid, so the facts hold several versions.
    const client = new pg.Client({ connectionString: pipeline.sourceUrl })
    await client.connect()
    try {
      await simulateActivity(client, { days: 1 })
    } finally {
      await client.end()
    }
    // Two rows for the health panels: an order whose design is not in the warehouse yet (held) and
    // one with an impossible date (quarantined).
    const [design] = await pipeline.source<{ design_id: number }>(
      "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
    )
    const order = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
        agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
      VALUES ($1, 1, 1, 1234, 2.50, 1, $2, '2024-11-21', 1, '2024-11-19 11:00:00', '2024-11-19 11:00:00')`
    await pipeline.source(order, [design!.design_id, '2024-11-22'])
    await pipeline.source(order, [1, '2024-11-31'])
    // Namesakes: two members of staff and two suppliers that share a name stay apart on the charts.
    await pipeline.source(
      'UPDATE staff SET first_name = s1.first_name, last_name = s1.last_name, last_updated = clock_timestamp()::timestamp(3) FROM staff s1 WHERE s1.staff_id = 1 AND staff.staff_id = 2',
    )
    await pipeline.source(
      'UPDATE counterparty SET counterparty_legal_name = c1.counterparty_legal_name, last_updated = clock_timestamp()::timestamp(3) FROM counterparty c1 WHERE c1.counterparty_id = 1 AND counterparty.counterparty_id = 2',
    )
    await pipeline.cycle()
    reader = new PostgresDashboardReader({ url: pipeline.warehouseUrl, schema: 'public' })
    const freshness = statusFreshness({ ...pipeline.ctx, reader, freshnessTargetMs: 30 * 60_000, cacheMs: 0 })
    server = await startDashboard({ reader, port: 0, processed: pipeline.ctx.processed, freshness })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS })
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 })
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.goto(server.url)
    await page.waitForFunction(
      () => (globalThis as unknown as { document: { body: { dataset: { state?: string } } } }).document.body.dataset.state !== 'loading',
      undefined,
      { timeout: 30_000 },
    )
  })

  after(async () => {
    await browser?.close()
    await server?.close()
    await reader?.close()
    await fixture.stop()
  })

  it('renders every chart without an error, and keeps a screenshot', async () => {
    mkdirSync('test-artifacts', { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    assert.equal(await page.evaluate(bodyState), 'ready')
    const states = await page.$$eval('[data-chart][data-state]', (cards) => cards.map((c) => `${c.getAttribute('data-chart')}=${c.getAttribute('data-state')}`))
    assert.deepEqual(states.sort(), [...CHARTS, 'lake-quarantine'].map((c) => `${c}=ready`).sort())
    assert.deepEqual(pageErrors, [])
  })

  it('shows in each data table exactly the rows of the chart SQL run directly', async () => {
    for (const chart of CHARTS) {
      const shown = await tableRows(page, chart)
      const expected = (await pipeline.warehouse<Row>(await readFile(chartQueryUrl(chart), 'utf8'))).map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)])),
      )
      // Ages move on between the reads; lag and freshness are the server's, from the lake (see the health test).
      const columns = Object.keys(shown[0] ?? {}).filter((c) => !['age_seconds', 'last_loaded_at', 'loaded_at', 'lag_seconds', 'freshness'].includes(c))
      assert.ok(shown.length > 0, `${chart} shows rows`)
      assert.deepEqual(pick(shown, columns), pick(expected, columns), chart)
    }
  })

  it('shows sales by month and currency as the facts add up, to the penny, in table and chart', async () => {
    const expected = await pipeline.warehouse<Row>(
      `SELECT to_char(f.created_date, 'YYYY-MM') AS month, c.currency_code, count(*)::text AS orders,
              sum(f.units_sold)::text AS units_sold, sum(f.units_sold * f.unit_price)::text AS revenue
         FROM ${LATEST_SALES} f JOIN dim_currency c USING (currency_id) GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    assert.deepEqual(await tableRows(page, 'sales-by-month'), expected)
    const drawn = await plotted(page, 'sales-by-month')
    for (const row of expected) {
      const at = drawn.labels.indexOf(row.month!)
      assert.equal(drawn.series[row.currency_code!]?.[at], Number(row.revenue), `${row.month} ${row.currency_code}`)
    }
    // Formatted for people from the exact text, never through a float.
    const cell = await page.$eval('table[data-chart="sales-by-month"] td[data-column="revenue"]', (td) => td.textContent)
    assert.equal(cell, expected[0]!.revenue!.replace(/\B(?=(\d{3})+(?!\d))/g, ','))
  })

  it('shows the top designs by units sold', async () => {
    const expected = await pipeline.warehouse<Row>(
      `SELECT f.design_id::text, d.design_name, count(*)::text AS orders, sum(f.units_sold)::text AS units_sold
         FROM ${LATEST_SALES} f JOIN dim_design d USING (design_id)
        GROUP BY f.design_id, d.design_name ORDER BY sum(f.units_sold) DESC, f.design_id LIMIT 10`,
    )
    assert.deepEqual(await tableRows(page, 'top-designs'), expected)
    const drawn = await plotted(page, 'top-designs')
    assert.deepEqual(Object.values(drawn.series)[0], expected.map((r) => Number(r.units_sold)))
  })

  it('shows payments paid and due per currency and type as the latest payment versions say', async () => {
    const expected = await pipeline.warehouse<Row>(
      `SELECT c.currency_code, t.payment_type_name, CASE WHEN p.paid THEN 'paid' ELSE 'due' END AS status,
              count(*)::text AS payments, sum(p.payment_amount)::text AS amount
         FROM ${LATEST_PAYMENTS} p JOIN dim_currency c USING (currency_id) JOIN dim_payment_type t USING (payment_type_id)
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 DESC`,
    )
    assert.ok(expected.some((r) => r.status === 'paid') && expected.some((r) => r.status === 'due'))
    assert.deepEqual(await tableRows(page, 'payments-paid-vs-due'), expected)
  })

  it('shows purchases by supplier and sales by country and staff per currency', async () => {
    const purchases = await pipeline.warehouse<Row>(
      `SELECT cp.counterparty_id::text, cp.counterparty_legal_name AS supplier, c.currency_code, count(*)::text AS orders,
              sum(f.item_quantity)::text AS items, sum(f.item_quantity * f.item_unit_price)::text AS amount
         FROM (SELECT DISTINCT ON (purchase_order_id) * FROM fact_purchase_order
                ORDER BY purchase_order_id, last_updated_date DESC, last_updated_time DESC, purchase_record_id DESC) f
         JOIN dim_counterparty cp USING (counterparty_id) JOIN dim_currency c USING (currency_id)
        GROUP BY 1, 2, 3 ORDER BY 2, 1, 3`,
    )
    assert.deepEqual(pick(await tableRows(page, 'purchases-by-supplier'), ['supplier', 'currency_code', 'orders', 'items', 'amount']), pick(purchases, ['supplier', 'currency_code', 'orders', 'items', 'amount']))
    const countries = await pipeline.warehouse<Row>(
      `SELECT l.country, c.currency_code, count(*)::text AS orders, sum(f.units_sold)::text AS units_sold, sum(f.units_sold * f.unit_price)::text AS revenue
         FROM ${LATEST_SALES} f JOIN dim_location l ON l.location_id = f.agreed_delivery_location_id JOIN dim_currency c USING (currency_id)
        GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    assert.deepEqual(await tableRows(page, 'sales-by-country'), countries)
    for (const [chart, id, name] of [['sales-by-staff', 'staff_id', 'staff_name'], ['purchases-by-supplier', 'counterparty_id', 'supplier']] as const) {
      const rows = await pipeline.warehouse<Row>(await readFile(chartQueryUrl(chart), 'utf8'))
      const ids = [...new Set(rows.map((r) => String(r[id])))]
      const drawn = await plotted(page, chart)
      assert.equal(drawn.labels.length, ids.length, `${chart}: one bar per ${id}, namesakes apart`)
      const namesake = String(rows.find((r) => String(r[id]) === '1')![name])
      assert.deepEqual(drawn.labels.filter((l) => l.startsWith(namesake)).sort(), [`${namesake} #1`, `${namesake} #2`], chart)
    }
    const staffTotals = await pipeline.warehouse<{ orders: string }>(`SELECT count(*)::text AS orders FROM ${LATEST_SALES} f`)
    const staffRows = await tableRows(page, 'sales-by-staff')
    assert.equal(String(staffRows.reduce((sum, r) => sum + Number(r.orders), 0)), staffTotals[0]!.orders)
  })

  it('shows pipeline health from the ledger and the held tables', async () => {
    const runs = await pipeline.warehouse<Row>('SELECT run_id, status, rows::text FROM _starline_loads ORDER BY run_id DESC')
    assert.equal(runs.length, 2)
    assert.deepEqual(pick(await tableRows(page, 'health-runs'), ['run_id', 'status', 'rows']), runs)
    const freshness = await tableRows(page, 'health-freshness')
    const tables = await pipeline.warehouse<{ table_name: string }>('SELECT DISTINCT table_name FROM _starline_load_tables ORDER BY 1')
    assert.deepEqual(freshness.map((r) => r.table_name), tables.map((r) => r.table_name))
    assert.ok(freshness.every((r) => r.freshness === 'fresh' && r.lag_seconds === '0'), 'everything extracted is loaded: no lag, so fresh')
    const held = await tableRows(page, 'health-held')
    const counts: Record<string, string> = {}
    for (const fact of ['fact_payment', 'fact_purchase_order', 'fact_sales_order']) {
      const [count] = await pipeline.warehouse<{ n: string }>(`SELECT count(*)::text AS n FROM _starline_held_${fact}`)
      counts[fact] = count!.n
    }
    assert.equal(counts.fact_sales_order, '1', 'the order for the late design is held')
    assert.deepEqual(Object.fromEntries(held.map((r) => [r.fact_table, r.held_rows])), counts)
  })

  it('shows the quarantined rows the processed manifests record', async () => {
    const expected: Row[] = []
    for (const runId of (await listRunIds(pipeline.ctx.processed)).reverse()) {
      const { manifest } = await readManifest(pipeline.ctx.processed, runId)
      for (const q of manifest.quarantine ?? []) expected.push({ run_id: runId, source_table: q.table, rows: String(q.rows), key: q.key })
    }
    assert.deepEqual(expected.map((r) => [r.source_table, r.rows]), [['sales_order', '1']])
    assert.deepEqual(await tableRows(page, 'lake-quarantine'), expected)
  })

  it('reads the warehouse live: another cycle shows after a refresh', async () => {
    // The late design arrives (its held order is released) and a new order lands now.
    await pipeline.source("UPDATE design SET last_updated = clock_timestamp()::timestamp(3) WHERE design_name = 'late'")
    await pipeline.source(
      `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
          agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
        VALUES (2, 2, 2, 4321, 3.25, 2, '2024-11-22', '2024-11-21', 2, clock_timestamp()::timestamp(3), clock_timestamp()::timestamp(3))`,
    )
    await pipeline.cycle()
    await page.click('#refresh')
    await page.waitForFunction(
      () => (globalThis as unknown as { document: { body: { dataset: { state?: string } } } }).document.body.dataset.state === 'ready',
      undefined,
      { timeout: 30_000 },
    )
    const runs = await pipeline.warehouse<Row>('SELECT run_id FROM _starline_loads ORDER BY run_id DESC')
    assert.equal(runs.length, 3)
    assert.deepEqual(pick(await tableRows(page, 'health-runs'), ['run_id']), runs)
    const months = await pipeline.warehouse<Row>(
      `SELECT to_char(f.created_date, 'YYYY-MM') AS month, c.currency_code, count(*)::text AS orders,
              sum(f.units_sold)::text AS units_sold, sum(f.units_sold * f.unit_price)::text AS revenue
         FROM ${LATEST_SALES} f JOIN dim_currency c USING (currency_id) GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    assert.deepEqual(await tableRows(page, 'sales-by-month'), months)
    const held = await tableRows(page, 'health-held')
    assert.equal(held.find((r) => r.fact_table === 'fact_sales_order')?.held_rows, '0', 'the held order was released')
  })
})
