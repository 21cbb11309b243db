/**
 * How the dashboard reads a warehouse: one small read-only contract with an
 * implementation per engine, so the server never sees a driver. Every value
 * comes back as text (or null): decimals and 64-bit integers stay exact all
 * the way to the page, which formats them without going through a float.
 */

/** One result row: column name -> the value as text, null kept as null. */
export type ChartRow = Readonly<Record<string, string | null>>

export interface ChartResult {
  readonly columns: readonly string[]
  readonly rows: readonly ChartRow[]
}

export const DASHBOARD_ENGINES = ['postgres', 'duckdb'] as const
export type DashboardEngine = (typeof DASHBOARD_ENGINES)[number]

export interface DashboardReader {
  /** The engine answering, shown on the page. */
  readonly engine: DashboardEngine
  /**
   * Runs one query in a read-only transaction (PostgreSQL) or on a database
   * opened read-only (DuckDB), with unqualified names resolved in the
   * warehouse schema. A write fails with ReadOnlyViolationError.
   */
  read(sql: string): Promise<ChartResult>
  close(): Promise<void>
}

/** How long one chart's query may run before the warehouse cancels it. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000
