/**
 * Picks the dashboard's reader from the warehouse URL's scheme, as
 * openWarehouse picks the warehouse engine: `postgres:` / `postgresql:` or
 * `duckdb:` (a database file).
 */
import { duckDbPathOf } from '../../engines/duckdb/duckdb-url.js'
import type { DashboardReader } from './dashboard-reader.js'
import { DuckDbDashboardReader } from './duckdb-dashboard-reader.js'
import { DashboardQueryError } from './errors.js'
import { PostgresDashboardReader } from './postgres-dashboard-reader.js'

export const DASHBOARD_URL_SCHEMES = ['postgres:', 'postgresql:', 'duckdb:'] as const

export function openDashboardReader(url: string, schema: string): DashboardReader {
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase()
  if (scheme === 'postgres:' || scheme === 'postgresql:') return new PostgresDashboardReader({ url, schema })
  if (scheme === 'duckdb:') return new DuckDbDashboardReader({ path: duckDbPathOf(url), schema })
  if (scheme === 'redshift:' || scheme === 'redshift-data:') {
    // Not built: the PostgreSQL reader's read-only session setting does not exist on Redshift, and nothing here tests one.
    throw new DashboardQueryError(
      'The dashboard does not serve a Redshift warehouse yet. Point a BI tool at Redshift with a SELECT-only user.',
    )
  }
  throw new DashboardQueryError(
    `The dashboard cannot read a "${scheme || url}" warehouse: STARLINE_WAREHOUSE_URL must start with ${DASHBOARD_URL_SCHEMES.map((s) => `${s}//`).join(', ')}.`,
  )
}

