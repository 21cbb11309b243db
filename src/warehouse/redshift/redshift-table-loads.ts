/**
 * The Parquet loader on Redshift: SQL only. Each table's checked files are
 * listed in a manifest written beside them, COPYed from S3 into a staging
 * table with the configured IAM role, and moved into the target (replace,
 * append or merge) in one transaction with the ledger rows.
 *
 * The Redshift warehouse owns the connection (wire protocol or Data API);
 * this class takes only a way to run statements.
 */
import { withoutValues } from '../../core/driver-message.js'
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { ObjectExistsError } from '../../lake/errors.js'
import type { ObjectStore } from '../../lake/object-store.js'
import { LoaderLedgerChangedError, WarehouseError, WarehouseLoadError, WarehouseSchemaMismatchError } from '../errors.js'
import { LOADER_LEDGER_TABLE, type LastLoad, type TableLoad, type TableLoadResult, type TableLoads, type TableLoadsCapabilities } from '../table-loads.js'
import type { RedshiftSession } from './redshift-session.js'
import {
  existingColumnsSql,
  lastLoadsSql,
  LEDGER_CHANGED_MARKER,
  ledgerBasisSql,
  ledgerDdl,
  loadErrorsSql,
  manifestJson,
  tableLoadSql,
} from './redshift-loader-sql.js'

/**
 * Runs SQL on Redshift: the shape of the Redshift warehouse's session
 * (`transaction` there), reduced to what the loader needs.
 */
export interface RedshiftStatements {
  /** The most statements one transaction may hold (the Data API: 40); absent = no limit. */
  readonly maxTransactionStatements?: number
  /**
   * Runs `statements` in order in one transaction (Data API
   * BatchExecuteStatement, or BEGIN/COMMIT on one session); returns the rows
   * each changed.
   */
  batch(statements: readonly string[]): Promise<readonly { readonly rowCount: number }[]>
  /** Runs one query and returns its rows. */
  query(sql: string): Promise<readonly Record<string, unknown>[]>
  /** Closes the connection, when the loader owns it. */
  close?(): Promise<void>
}

/** The Redshift warehouse's session (wire protocol or Data API) as the loader's statements; closing it closes the session. */
export function sessionStatements(session: RedshiftSession): RedshiftStatements {
  return {
    ...(session.maxTransactionStatements === undefined ? {} : { maxTransactionStatements: session.maxTransactionStatements }),
    batch: (statements) => session.transaction(statements.map((sql) => ({ sql }))),
    query: async (sql) => (await session.query({ sql })).rows,
    close: () => session.close(),
  }
}

export interface RedshiftTableLoadsConfig {
  readonly statements: RedshiftStatements
  /** The role Redshift assumes to read the files (STARLINE_REDSHIFT_IAM_ROLE). */
  readonly iamRole: string
  /** Opens the store rooted at a table's `s3://` prefix, where manifests are written. */
  readonly openStore: (prefixUrl: string) => ObjectStore
}

/** Where a table's manifests go, under its prefix (a `_` folder, so the loader never reads them as data). */
export const MANIFEST_FOLDER = '_starline_manifests/'

export class RedshiftTableLoads implements TableLoads {
  readonly capabilities: TableLoadsCapabilities = Object.freeze({
    columnsByPosition: true,
    varcharCountsBytes: true,
    convertsTypes: false,
    maxIdentifierBytes: 127,
    maxTextBytes: 65535,
    foldsNamesToLowerCase: true,
    prefixSchemes: Object.freeze(['s3://']),
  })
  readonly #config: RedshiftTableLoadsConfig

  constructor(config: RedshiftTableLoadsConfig) {
    this.#config = Object.freeze({ ...config })
  }

  async lastLoads(schema: string): Promise<ReadonlyMap<string, LastLoad>> {
    const existing = await this.#existingColumns(schema)
    if (!existing.has(LOADER_LEDGER_TABLE)) return new Map()
    const rows = await this.#query(lastLoadsSql(schema))
    return new Map(rows.map((r) => [String(r.table_name), { fingerprint: String(r.fingerprint).trim(), files: String(r.files) }]))
  }

  async load(schema: string, tables: readonly TableLoad[]): Promise<readonly TableLoadResult[]> {
    const existing = await this.#existingColumns(schema)
    const statements = [...ledgerDdl(schema), ...ledgerBasisSql(schema, tables)]
    /** Index of each table's INSERT into its target, whose row count is the table's. */
    const inserts: number[] = []
    for (const table of tables) {
      const columns = existing.get(table.name)
      const missing = columns ? table.columns.map((c) => c.name).filter((n) => !columns.includes(n)) : []
      if (missing.length > 0) {
        throw new WarehouseSchemaMismatchError(
          `Table "${schema}"."${table.name}" exists without column(s) ${missing.map((m) => `"${m}"`).join(', ')} of the spec. ` +
            'Add them, or drop the table so the loader creates it; nothing was loaded.',
          { context: { table: table.name } },
        )
      }
      const sql = tableLoadSql(schema, table, { iamRole: this.#config.iamRole, manifestUrl: await this.#writeManifest(table) })
      inserts.push(statements.length + sql.findIndex((s) => s.startsWith('INSERT INTO') && !s.includes(LOADER_LEDGER_TABLE)))
      statements.push(...sql)
    }
    const limit = this.#config.statements.maxTransactionStatements
    if (limit !== undefined && statements.length > limit) {
      throw new WarehouseLoadError(
        `Loading ${tables.length} tables takes ${statements.length} statements, but this Redshift connection runs at most ${limit} in one transaction (the Data API's limit). ` +
          'Split the spec into smaller ones, or connect over the wire protocol; nothing was loaded.',
      )
    }
    let results: readonly { readonly rowCount: number }[]
    try {
      results = await this.#config.statements.batch(statements)
    } catch (error) {
      if (messageOf(error).includes(LEDGER_CHANGED_MARKER)) throw new LoaderLedgerChangedError(schema, tables.map((t) => t.name).join(', '))
      throw await this.#loadFailed(tables, error)
    }
    return tables.map((t, i) => ({ table: t.name, mode: t.mode, rows: results[inserts[i]!]?.rowCount ?? t.rows, created: !existing.has(t.name) }))
  }

  async close(): Promise<void> {
    await this.#config.statements.close?.()
  }

  async #writeManifest(table: TableLoad): Promise<string> {
    const key = `${MANIFEST_FOLDER}${table.fingerprint}.json`
    try {
      await this.#config.openStore(table.prefix).put(key, manifestJson(table))
    } catch (error) {
      // Same fingerprint, same files: the manifest written by an earlier attempt is this one.
      if (!(error instanceof ObjectExistsError)) throw error
    }
    return `${table.prefix}${key}`
  }

  async #existingColumns(schema: string): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>()
    for (const row of await this.#query(existingColumnsSql(schema))) {
      const table = String(row.table_name)
      out.set(table, [...(out.get(table) ?? []), String(row.column_name)])
    }
    return out
  }

  async #query(sql: string): Promise<readonly Record<string, unknown>[]> {
    try {
      return await this.#config.statements.query(sql)
    } catch (error) {
      if (error instanceof StarlineError) throw error
      throw new WarehouseError(`Redshift query failed: ${messageOf(error)}`, { cause: error })
    }
  }

  /** A failed COPY: add what Redshift recorded about the bad file and column. */
  async #loadFailed(tables: readonly TableLoad[], error: unknown): Promise<StarlineError> {
    const details: string[] = []
    for (const table of tables) {
      // This load's files only: other loads under the same prefix (a sibling table, an earlier run) are not this failure.
      const rows = await this.#config.statements.query(loadErrorsSql(table.files.map((f) => f.url))).catch(() => [])
      for (const r of rows) details.push(`${String(r.file_name)} column "${String(r.column_name)}": ${withoutValues(String(r.error_message))} (code ${String(r.error_code)})`)
    }
    const retryable = error instanceof StarlineError ? error.retryable : false
    const recorded = details.length > 0 ? ` Redshift recorded: ${details.join('; ')}.` : ''
    return new WarehouseLoadError(`Loading Parquet into Redshift failed and was rolled back: ${messageOf(error)}.${recorded}`, {
      cause: error,
      retryable,
    })
  }
}
