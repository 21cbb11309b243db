/**
 * Picks the Parquet loader's warehouse engine from a warehouse URL: the one
 * place that knows which schemes the loader supports.
 */
import { ConfigError } from '../config/errors.js'
import { messageOf } from '../core/starline-error.js'
import { duckDbPathOf } from '../engines/duckdb/duckdb-url.js'
import { redactUrl } from '../core/redact.js'
import { DuckDbTableLoads } from '../warehouse/duckdb/duckdb-table-loads.js'
import { PostgresTableLoads } from '../warehouse/postgres/postgres-table-loads.js'
import type { TableLoads } from '../warehouse/table-loads.js'

export interface OpenTableLoadsOptions {
  readonly scratchDir?: string
  readonly memoryLimit?: string
  /** Resolves a relative `duckdb://` path; default the working directory. */
  readonly cwd?: string
  /** The setting the URL came from, for messages. */
  readonly setting?: string
}

/** `postgres://`/`postgresql://` or `duckdb:///abs/path.duckdb` (a relative `duckdb:` path resolves against `cwd`). */
export function openTableLoads(url: string, options: OpenTableLoadsOptions = {}): TableLoads {
  const setting = options.setting ?? 'STARLINE_WAREHOUSE_URL'
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()
  const engine = { ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}), ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}) }
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return new PostgresTableLoads({ url, ...engine })
    case 'duckdb':
      try {
        return new DuckDbTableLoads({ path: duckDbPathOf(url, options.cwd), ...engine })
      } catch (error) {
        throw new ConfigError(`${setting}: ${messageOf(error)}`, { cause: error })
      }
    case 'redshift':
      throw new ConfigError(
        `${setting} is a redshift:// URL, which this build's Parquet loader cannot connect to yet (the Redshift connection arrives with the Redshift warehouse). Use postgres:// or duckdb://.`,
      )
    default:
      throw new ConfigError(`${setting} "${redactUrl(url)}" is not a warehouse URL the loader knows: use postgres://, postgresql:// or duckdb://.`)
  }
}
