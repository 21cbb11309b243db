/**
 * Picks the warehouse engine for a URL: the one place that knows which
 * engines exist. Stage code receives the result as a `Warehouse` and reads
 * its capabilities, never its engine.
 */
import { duckDbPathOf, isDuckDbUrl } from '../engines/duckdb/duckdb-url.js'
import { WarehouseError } from './errors.js'
import type { Warehouse } from './warehouse.js'

export interface OpenWarehouseOptions {
  /** The setting the URL came from, named in connection errors. */
  readonly setting?: string
  /** Scratch space for engines that convert files on the way in. */
  readonly scratchDir?: string
  /** DuckDB's memory limit where an engine uses DuckDB (e.g. '512MB'). */
  readonly duckdbMemory?: string
  /** A DuckDB warehouse's own memory limit (default: duckdbMemory). */
  readonly warehouseDuckdbMemory?: string
  /** The role Redshift assumes for `COPY ... IAM_ROLE` (STARLINE_REDSHIFT_IAM_ROLE). */
  readonly redshiftIamRole?: string
}

export const WAREHOUSE_URL_SCHEMES = ['postgres:', 'postgresql:', 'duckdb:', 'redshift:', 'redshift-data:'] as const

export async function openWarehouse(url: string, options: OpenWarehouseOptions = {}): Promise<Warehouse> {
  // Before `new URL`: a relative `duckdb:warehouse.duckdb` is no hierarchical URL.
  if (isDuckDbUrl(url)) {
    const { DuckDbWarehouse } = await import('./duckdb/duckdb-warehouse.js')
    return new DuckDbWarehouse({
      path: duckDbPathOf(url),
      ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
      ...(options.warehouseDuckdbMemory || options.duckdbMemory ? { memoryLimit: options.warehouseDuckdbMemory ?? options.duckdbMemory } : {}),
    })
  }
  const scheme = new URL(url).protocol
  if (scheme === 'postgres:' || scheme === 'postgresql:') {
    // Engines load on demand: a CLI command pays only for the engine it uses.
    const { PostgresWarehouse } = await import('./postgres/postgres-warehouse.js')
    return new PostgresWarehouse({
      url,
      ...(options.setting ? { setting: options.setting } : {}),
      duckdb: { ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}), ...(options.duckdbMemory ? { memoryLimit: options.duckdbMemory } : {}) },
    })
  }
  if (scheme === 'redshift:' || scheme === 'redshift-data:') {
    const { RedshiftWarehouse } = await import('./redshift/redshift-warehouse.js')
    const { parseIamRole } = await import('./redshift/redshift-config.js')
    return new RedshiftWarehouse({
      iamRole: parseIamRole(options.redshiftIamRole),
      connection: { url, ...(options.setting ? { setting: options.setting } : {}) },
    })
  }
  throw new WarehouseError(
    `Warehouse URL scheme "${scheme}" is not supported: use ${WAREHOUSE_URL_SCHEMES.map((s) => `${s}//`).join(' or ')}.`,
  )
}
