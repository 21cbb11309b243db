/**
 * `starline demo`: the whole pipeline on a fresh machine with nothing to set
 * up. It starts an embedded PostgreSQL holding a generated ToteSys source and
 * an empty warehouse, runs a cycle into a local lake, simulates a day of
 * activity, runs again, and shows what the warehouse holds. On a terminal it
 * then serves the dashboard over that warehouse until Ctrl-C; elsewhere (CI)
 * it ends there. The servers are stopped on exit, Ctrl-C included; the lake
 * stays in .starline/demo/ to browse.
 */
import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { ConfigError } from '../../config/errors.js'
import { qualify } from '../../sql/quote.js'
import { generateTotesys } from '../../datasets/totesys/generator.js'
import { historyEndBeforeTradingDay } from '../../datasets/totesys/history-end.js'
import { simulateActivity } from '../../datasets/totesys/simulator.js'
import { createLogger, logFormatFor } from '../../observe/logger.js'
import { formatRun, formatTable, seconds } from '../../observe/summary-text.js'
import { StageAbortedError } from '../../pipeline/errors.js'
import { runCycle } from '../../pipeline/run.js'
import { startEmbeddedPostgres } from '../embedded-postgres-server.js'
import { DEFAULT_HOST, DEFAULT_PORT } from '../http/dashboard-server.js'
import { openDashboardReader } from '../http/open-dashboard-reader.js'
import { extractOptions, loadOptions, localConfig, openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'

/** Where the demo loads: the embedded PostgreSQL, or a DuckDB file under .starline/demo/. */
const DEMO_WAREHOUSES = ['postgres', 'duckdb'] as const

export async function demoCommand(values: { readonly scale?: string | undefined; readonly warehouse?: string | undefined }, signal: AbortSignal): Promise<void> {
  const engine = values.warehouse ?? 'postgres'
  if (!(DEMO_WAREHOUSES as readonly string[]).includes(engine)) {
    throw new ConfigError(`--warehouse must be one of ${DEMO_WAREHOUSES.join(', ')}, not "${engine}".`)
  }
  const started = Date.now()
  const scale = Number(values.scale ?? '1')
  const say = (text: string) => process.stdout.write(`${text}\n`)
  const checkpoint = () => {
    if (signal.aborted) throw new StageAbortedError('demo')
  }
  const lakeDir = resolve('.starline', 'demo', 'lake')
  await rm(lakeDir, { recursive: true, force: true })
  const duckDbPath = resolve('.starline', 'demo', 'warehouse.duckdb')
  if (engine === 'duckdb') for (const file of [duckDbPath, `${duckDbPath}.wal`]) await rm(file, { force: true })

  say('demo: starting an embedded PostgreSQL ...')
  const server = await startEmbeddedPostgres()
  try {
    const sourceUrl = await server.createDatabase('totesys')
    const warehouseUrl = engine === 'duckdb' ? pathToFileURL(duckDbPath).href.replace(/^file:/, 'duckdb:') : await server.createDatabase('warehouse')
    checkpoint()

    const source = new pg.Client({ connectionString: sourceUrl })
    await source.connect()
    try {
      const generated = await generateTotesys(source, { scale, until: historyEndBeforeTradingDay(new Date()) })
      const total = Object.values(generated.rows).reduce((a, b) => a + b, 0)
      say(`demo: generated ToteSys at scale ${scale}: ${total.toLocaleString('en-GB')} rows up to ${generated.until.toISOString().slice(0, 10)}`)
    } finally {
      await source.end()
    }
    checkpoint()

    const config = localConfig({ sourceUrl, warehouseUrl }, lakeDir)
    const ctx = stageContext(config, createLogger({ level: 'warn', format: logFormatFor(process.stderr) }), { signal })
    const warehouse = await openConfiguredWarehouse(config)
    try {
      say('\n== cycle 1: the first, full run ==')
      say(formatRun(await runCycle(ctx, { extract: extractOptions(config), load: loadOptions(config, warehouse) })))
      checkpoint()

      const simulator = new pg.Client({ connectionString: sourceUrl })
      await simulator.connect()
      try {
        const day = await simulateActivity(simulator, { days: 1 })
        say(
          `\n== a day passes in the source (${new Date(day.to.getTime() - 1).toISOString().slice(0, 10)}): ${day.salesOrders} sales orders, ` +
            `${day.purchaseOrders} purchase orders, ${day.paymentsPaid} payments paid ==`,
        )
      } finally {
        await simulator.end()
      }
      checkpoint()

      say('\n== cycle 2: incremental ==')
      const second = await runCycle(ctx, { extract: extractOptions(config), load: loadOptions(config, warehouse) })
      say(formatRun(second))
      const lastRunId = second.load.runs.at(-1)?.runId
      const holds =
        engine === 'duckdb'
          ? await (await import('./demo-duckdb.js')).describeDuckDbWarehouse(duckDbPath, config.scratchDir, lastRunId)
          : await describeWarehouse(warehouseUrl, lastRunId)
      say(`\n== what the warehouse holds ==\n${holds}`)
    } finally {
      await warehouse.close()
    }
    say(`\ndemo: done in ${seconds(Date.now() - started)}; the lake is in ${lakeDir}${engine === 'duckdb' ? `, the warehouse in ${duckDbPath}` : ''}`)
    if (process.stdout.isTTY && !signal.aborted) {
      const { serveUntilStopped } = await import('./serve-command.js')
      const { statusFreshness } = await import('../http/freshness.js')
      const reader = openDashboardReader(warehouseUrl, config.warehouseSchema)
      try {
        const freshness = statusFreshness({ ...ctx, reader, freshnessTargetMs: config.freshnessTargetMs })
        await serveUntilStopped(reader, { host: DEFAULT_HOST, port: DEFAULT_PORT, signal, logger: createLogger({ level: 'warn' }), anyFreePort: true, processed: ctx.processed, freshness })
      } finally {
        await reader.close()
      }
    }
  } finally {
    await server.stop()
  }
}

async function describeWarehouse(url: string, lastRunId: string | undefined): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
          AND (table_name LIKE 'dim\\_%' OR table_name LIKE 'fact\\_%') ORDER BY table_name`,
    )
    const counts: [string, number, number][] = []
    for (const { table_name } of tables.rows) {
      const total = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualify('public', table_name)}`)
      const added = await client.query<{ n: string }>(
        'SELECT coalesce(sum(inserted), 0)::text AS n FROM _starline_load_tables WHERE run_id = $1 AND table_name = $2',
        [lastRunId ?? '', table_name],
      )
      counts.push([table_name, Number(total.rows[0]?.n), Number(added.rows[0]?.n)])
    }
    const history = await client.query<{ payments: string; versions: string }>(
      `SELECT count(*)::text AS payments, coalesce(sum(versions), 0)::text AS versions
         FROM (SELECT payment_id, count(*) AS versions FROM fact_payment GROUP BY payment_id HAVING count(*) > 1) t`,
    )
    const sales = await client.query<{ month: string; currency_code: string; orders: string; amount: string }>(
      `WITH latest AS (SELECT * FROM fact_sales_order_current)
       SELECT to_char(date_trunc('month', l.created_date), 'YYYY-MM') AS month, c.currency_code,
              count(*)::text AS orders, to_char(sum(l.units_sold * l.unit_price), 'FM999,999,999,990.00') AS amount
         FROM latest l JOIN dim_currency c USING (currency_id)
        WHERE l.created_date >= date_trunc('month', (SELECT max(created_date) FROM latest)) - interval '2 months'
        GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    return [
      formatTable(['table', 'rows', 'added by cycle 2'], counts),
      `\npayments with more than one version in fact_payment (history): ${Number(history.rows[0]?.payments)} payments, ${Number(history.rows[0]?.versions)} rows`,
      '\nsales by month and currency (latest version of each order, last three months):',
      formatTable(['month', 'currency', 'orders', 'amount'], sales.rows.map((r) => [r.month, r.currency_code, Number(r.orders), r.amount])),
    ].join('\n')
  } finally {
    await client.end()
  }
}
