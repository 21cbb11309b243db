import type pg from 'pg'

/** How the PostgreSQL warehouse connects: a URL, or a ready pool (tests, Lambda). */
export type PostgresWarehouseConfig = (
  | { readonly url: string; readonly setting?: string }
  | { readonly pool: pg.Pool }
) & {
  /** How long a load waits for another load of the same schema before failing retryably. Default 30 s. */
  readonly lockWaitMs?: number
  /**
   * Load a run into an empty schema on two connections, through a side
   * schema swapped in (postgres-first-load.ts). Default true; false loads
   * every run on one connection.
   */
  readonly firstLoads?: boolean
  /** Where and within how much memory DuckDB turns Parquet into COPY input. */
  readonly duckdb?: { readonly scratchDir?: string; readonly memoryLimit?: string }
}
