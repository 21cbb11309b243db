/**
 * What `starline demo --warehouse duckdb` shows at the end: the same report
 * as for PostgreSQL, read from the DuckDB file in DuckDB's SQL dialect.
 */
import { openDuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { formatTable } from '../../observe/summary-text.js'
import { qualify } from '../../sql/quote.js'

export async function describeDuckDbWarehouse(path: string, scratchDir: string, lastRunId: string | undefined): Promise<string> {
  const db = await openDuckDb({ path, scratchDir })
  try {
    const tables = await db.all<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_catalog = current_database() AND table_schema = 'public' AND table_type = 'BASE TABLE'
          AND (table_name LIKE 'dim\\_%' ESCAPE '\\' OR table_name LIKE 'fact\\_%' ESCAPE '\\') ORDER BY table_name`,
    )
    const counts: [string, number, number][] = []
    for (const { table_name } of tables) {
      const [total] = await db.all<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM ${qualify('public', table_name)}`)
      const [added] = await db.all<{ n: string }>(
        'SELECT coalesce(sum(inserted), 0)::VARCHAR AS n FROM public._starline_load_tables WHERE run_id = $1 AND table_name = $2',
        [lastRunId ?? '', table_name],
      )
      counts.push([table_name, Number(total?.n), Number(added?.n)])
    }
    const [history] = await db.all<{ payments: string; versions: string }>(
      `SELECT count(*)::VARCHAR AS payments, coalesce(sum(versions), 0)::VARCHAR AS versions
         FROM (SELECT payment_id, count(*) AS versions FROM public.fact_payment GROUP BY payment_id HAVING count(*) > 1) t`,
    )
    const sales = await db.all<{ month: string; currency_code: string; orders: string; amount: string }>(
      `WITH latest AS (SELECT * FROM public.fact_sales_order_current)
       SELECT strftime(date_trunc('month', l.created_date), '%Y-%m') AS month, c.currency_code,
              count(*)::VARCHAR AS orders, sum(l.units_sold * l.unit_price)::DECIMAL(18,2)::VARCHAR AS amount
         FROM latest l JOIN public.dim_currency c USING (currency_id)
        WHERE l.created_date >= date_trunc('month', (SELECT max(created_date) FROM latest)) - INTERVAL 2 MONTH
        GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    return [
      formatTable(['table', 'rows', 'added by cycle 2'], counts),
      `\npayments with more than one version in fact_payment (history): ${Number(history?.payments)} payments, ${Number(history?.versions)} rows`,
      '\nsales by month and currency (latest version of each order, last three months):',
      formatTable(['month', 'currency', 'orders', 'amount'], sales.map((r) => [r.month, r.currency_code, Number(r.orders), groupThousands(r.amount)])),
      `\nopen it yourself: duckdb ${path}`,
    ].join('\n')
  } finally {
    db.close()
  }
}

/** 1234567.50 -> 1,234,567.50, on the exact decimal text (money never goes through a float). */
function groupThousands(amount: string): string {
  const [whole = '0', fraction] = amount.split('.')
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return fraction === undefined ? grouped : `${grouped}.${fraction}`
}
