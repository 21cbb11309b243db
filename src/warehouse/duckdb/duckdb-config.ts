/**
 * How the DuckDB warehouse is found: a database file named by a
 * `duckdb://` URL. `duckdb:///abs/path.duckdb` is absolute; a relative path
 * (`duckdb:warehouse.duckdb`, `duckdb://data/warehouse.duckdb`) resolves
 * against the working directory.
 */
import { isAbsolute, resolve } from 'node:path'
import { WarehouseConfigError } from '../errors.js'

export interface DuckDbWarehouseConfig {
  /** The database file, absolute. Created with its folder if missing. */
  readonly path: string
  /** Where DuckDB spills a sort or join that outgrows memory. Default: the OS temp dir. */
  readonly scratchDir?: string
  /** e.g. '512MB'; default DuckDB's own (80% of RAM). */
  readonly memoryLimit?: string
}

const DUCKDB_URL_EXAMPLE = 'duckdb:///absolute/path/warehouse.duckdb'

export function isDuckDbUrl(url: string): boolean {
  return url.toLowerCase().startsWith('duckdb:')
}

/** The absolute path of the file a `duckdb:` URL names. */
export function duckDbPathOf(url: string, cwd: string = process.cwd()): string {
  if (!isDuckDbUrl(url)) throw new WarehouseConfigError(`"${url}" is not a duckdb: URL. Expected ${DUCKDB_URL_EXAMPLE}.`)
  let rest = url.slice('duckdb:'.length)
  // `duckdb://x` names no host: what follows the slashes is the path itself.
  if (rest.startsWith('//')) rest = rest.slice(2)
  if (/[?#]/.test(rest)) {
    throw new WarehouseConfigError(`The DuckDB URL "${url}" has a query or fragment; DuckDB takes none. Expected ${DUCKDB_URL_EXAMPLE}.`)
  }
  let path: string
  try {
    path = decodeURIComponent(rest)
  } catch {
    throw new WarehouseConfigError(`The DuckDB URL "${url}" has a malformed %-escape. Expected ${DUCKDB_URL_EXAMPLE}.`)
  }
  if (path === '' || path.endsWith('/') || path.includes('\0')) {
    throw new WarehouseConfigError(`The DuckDB URL "${url}" names no database file. Expected ${DUCKDB_URL_EXAMPLE}.`)
  }
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path)
}

/** The same URL with its path made absolute (`duckdb:///...`), so it means one file wherever it is used. */
export function absoluteDuckDbUrl(url: string, cwd?: string): string {
  return `duckdb://${duckDbPathOf(url, cwd)
    .split('/')
    .map((part) => encodeURIComponent(part))
    .join('/')}`
}
