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
import { openObjectStore } from '../lake/open-object-store.js'
import type { ObjectStore } from '../lake/object-store.js'
import { parseIamRole, parseRedshiftUrl } from '../warehouse/redshift/redshift-config.js'
import { RedshiftDataApiSession } from '../warehouse/redshift/redshift-data-api-session.js'
import { RedshiftTableLoads, sessionStatements } from '../warehouse/redshift/redshift-table-loads.js'
import { RedshiftWireSession } from '../warehouse/redshift/redshift-wire-session.js'
import type { TableLoads } from '../warehouse/table-loads.js'

export interface OpenTableLoadsOptions {
  readonly scratchDir?: string
  readonly memoryLimit?: string
  /** Resolves a relative `duckdb://` path; default the working directory. */
  readonly cwd?: string
  /** The setting the URL came from, for messages. */
  readonly setting?: string
  /** The role Redshift's COPY assumes (STARLINE_REDSHIFT_IAM_ROLE). */
  readonly redshiftIamRole?: string
  /** Opens the store at a table prefix, where Redshift's manifests go; default `openObjectStore`. */
  readonly openStore?: (url: string) => ObjectStore
}

/**
 * `postgres://`/`postgresql://`, `duckdb:///abs/path.duckdb` (a relative
 * `duckdb:` path resolves against `cwd`), or `redshift://` (wire protocol) /
 * `redshift-data://` (Data API) with `redshiftIamRole`.
 */
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
    case 'redshift-data': {
      const connection = parseRedshiftUrl(url, setting)
      const session =
        connection.kind === 'wire'
          ? new RedshiftWireSession({ url: connection.url, ssl: connection.ssl, displayUrl: url, setting })
          : new RedshiftDataApiSession({ target: connection })
      return new RedshiftTableLoads({
        statements: sessionStatements(session),
        iamRole: parseIamRole(options.redshiftIamRole),
        openStore: options.openStore ?? openObjectStore,
      })
    }
    default:
      throw new ConfigError(`${setting} "${redactUrl(url)}" is not a warehouse URL the loader knows: use postgres://, postgresql://, duckdb:, redshift:// or redshift-data://.`)
  }
}
