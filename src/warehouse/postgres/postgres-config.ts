import type pg from 'pg'

/** How the PostgreSQL warehouse connects: a URL, or a ready pool (tests, Lambda). */
export type PostgresWarehouseConfig = (
  | { readonly url: string; readonly setting?: string }
  | { readonly pool: pg.Pool }
) & {
  /** How long a load waits for another load of the same schema before failing retryably. Default 30 s. */
  readonly lockWaitMs?: number
  /** Where and within how much memory DuckDB turns Parquet into COPY input. */
  readonly duckdb?: { readonly scratchDir?: string; readonly memoryLimit?: string }
}
