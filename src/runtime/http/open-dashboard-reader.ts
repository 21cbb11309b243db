/**
 * Picks the dashboard's reader from the warehouse URL: `duckdb:` names a
 * DuckDB file, anything else is PostgreSQL. Branches on the URL's scheme
 * only, the one thing the configuration says about the engine.
 */
import { resolve } from 'node:path'
import type { DashboardReader } from './dashboard-reader.js'
import { DuckDbDashboardReader } from './duckdb-dashboard-reader.js'
import { PostgresDashboardReader } from './postgres-dashboard-reader.js'

export function openDashboardReader(url: string, schema: string): DashboardReader {
  if (/^duckdb:/i.test(url)) return new DuckDbDashboardReader({ path: duckDbFile(url), schema })
  return new PostgresDashboardReader({ url, schema })
}

/** `duckdb:///abs/file.duckdb` is absolute; `duckdb:file.duckdb` and `duckdb://dir/file.duckdb` are relative to the working directory. */
function duckDbFile(url: string): string {
  const rest = url.slice('duckdb:'.length)
  const path = rest.startsWith('//') ? rest.slice(2) : rest
  return resolve(decodeURIComponent(path))
}
