/**
 * How the DuckDB warehouse is configured: a database file (named by a
 * `duckdb:` URL, read in engines/duckdb/duckdb-url.ts) and DuckDB's limits.
 */

export interface DuckDbWarehouseConfig {
  /** The database file, absolute. Created with its folder if missing. */
  readonly path: string
  /** Where DuckDB spills a sort or join that outgrows memory. Default: the OS temp dir. */
  readonly scratchDir?: string
  /** e.g. '512MB'; default DuckDB's own (80% of RAM). */
  readonly memoryLimit?: string
}
