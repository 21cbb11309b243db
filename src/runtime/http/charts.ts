/**
 * The dashboard's charts: one fixed JSON endpoint each, each answered by one
 * SQL file in ./queries/ so every number the page shows comes from a query a
 * reader can open. The browser names a chart; it never sends SQL.
 */
import { readFile } from 'node:fs/promises'

/** Every chart the page draws, in page order; the name is also the SQL file's. */
export const CHARTS = [
  'sales-by-month',
  'top-designs',
  'sales-by-country',
  'sales-by-staff',
  'payments-paid-vs-due',
  'purchases-by-supplier',
  'health-freshness',
  'health-runs',
  'health-held',
] as const

export type ChartName = (typeof CHARTS)[number]

export function isChartName(name: string): name is ChartName {
  return (CHARTS as readonly string[]).includes(name)
}

/** The SQL file behind a chart, shipped beside the compiled code (scripts/copy-assets.mjs). */
export function chartQueryUrl(chart: ChartName): URL {
  return new URL(`./queries/${chart}.sql`, import.meta.url)
}

/** Reads every chart's SQL once, at start-up, so a missing file stops `serve` before it listens. */
export async function loadChartQueries(): Promise<ReadonlyMap<ChartName, string>> {
  const queries = new Map<ChartName, string>()
  for (const chart of CHARTS) queries.set(chart, await readFile(chartQueryUrl(chart), 'utf8'))
  return queries
}
