/**
 * `duckdb:` URLs name a DuckDB database file: `duckdb:///abs/path.duckdb` is
 * absolute; a relative path (`duckdb:warehouse.duckdb`,
 * `duckdb://data/warehouse.duckdb`) resolves against the working directory.
 * Here, below config and warehouse, so both read URLs the same way.
 */
import { isAbsolute, resolve } from 'node:path'
import { StarlineError } from '../../core/starline-error.js'

/** A `duckdb:` URL that names no usable file (terminal: fix the URL). */
export class DuckDbUrlError extends StarlineError {}

const EXAMPLE = 'duckdb:///absolute/path/warehouse.duckdb'

export function isDuckDbUrl(url: string): boolean {
  return url.toLowerCase().startsWith('duckdb:')
}

/** The absolute path of the file a `duckdb:` URL names. */
export function duckDbPathOf(url: string, cwd: string = process.cwd()): string {
  if (!isDuckDbUrl(url)) throw new DuckDbUrlError(`"${url}" is not a duckdb: URL. Expected ${EXAMPLE}.`)
  let rest = url.slice('duckdb:'.length)
  // `duckdb://x` names no host: what follows the slashes is the path itself.
  if (rest.startsWith('//')) rest = rest.slice(2)
  if (/[?#]/.test(rest)) {
    throw new DuckDbUrlError(`The DuckDB URL "${url}" has a query or fragment; DuckDB takes none. Expected ${EXAMPLE}.`)
  }
  let path: string
  try {
    path = decodeURIComponent(rest)
  } catch {
    throw new DuckDbUrlError(`The DuckDB URL "${url}" has a malformed %-escape. Expected ${EXAMPLE}.`)
  }
  if (path === '' || path.endsWith('/') || path.includes('\0')) {
    throw new DuckDbUrlError(`The DuckDB URL "${url}" names no database file. Expected ${EXAMPLE}.`)
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
