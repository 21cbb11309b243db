/**
 * The Parquet loader on Redshift: SQL only. Each table's checked files are
 * listed in a manifest written beside them, COPYed from S3 into a staging
 * table with the configured IAM role, and moved into the target (replace,
 * append or merge) in one transaction with the ledger rows.
 *
 * The Redshift warehouse owns the connection (wire protocol or Data API);
 * this class takes only a way to run statements.
 */
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { ObjectExistsError } from '../../lake/errors.js'
import type { ObjectStore } from '../../lake/object-store.js'
import { WarehouseError, WarehouseLoadError, WarehouseSchemaMismatchError } from '../errors.js'
import { LOADER_LEDGER_TABLE, type TableLoad, type TableLoadResult, type TableLoads, type TableLoadsCapabilities } from '../table-loads.js'
import { existingColumnsSql, lastFingerprintsSql, ledgerDdl, loadErrorsSql, manifestJson, tableLoadSql } from './redshift-loader-sql.js'

/** Runs SQL on Redshift. */
export interface RedshiftStatements {
  /** Runs `statements` in order in one transaction (Data API BatchExecuteStatement, or BEGIN/COMMIT on one session). */
  batch(statements: readonly string[]): Promise<void>
  /** Runs one query and returns its rows. */
  query(sql: string): Promise<readonly Record<string, unknown>[]>
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
  readonly capabilities: TableLoadsCapabilities = Object.freeze({ columnsByPosition: true, varcharCountsBytes: true, convertsTypes: false })
  readonly #config: RedshiftTableLoadsConfig

  constructor(config: RedshiftTableLoadsConfig) {
    this.#config = Object.freeze({ ...config })
  }

  async lastFingerprints(schema: string): Promise<ReadonlyMap<string, string>> {
    const existing = await this.#existingColumns(schema)
    if (!existing.has(LOADER_LEDGER_TABLE)) return new Map()
    const rows = await this.#query(lastFingerprintsSql(schema))
    return new Map(rows.map((r) => [String(r.table_name), String(r.fingerprint).trim()]))
  }

  async load(schema: string, tables: readonly TableLoad[]): Promise<readonly TableLoadResult[]> {
    const existing = await this.#existingColumns(schema)
    const statements = ledgerDdl(schema)
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
      statements.push(...tableLoadSql(schema, table, { iamRole: this.#config.iamRole, manifestUrl: await this.#writeManifest(table) }))
    }
    try {
      await this.#config.statements.batch(statements)
    } catch (error) {
      throw await this.#loadFailed(tables, error)
    }
    // COPY either loads every row of the manifest's files or fails the transaction: the checked counts are the loaded ones.
    return tables.map((t) => ({ table: t.name, mode: t.mode, rows: t.rows, created: !existing.has(t.name) }))
  }

  async close(): Promise<void> {
    // The connection belongs to whoever made `statements`.
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
      const rows = await this.#config.statements.query(loadErrorsSql(table.prefix)).catch(() => [])
      for (const r of rows) details.push(`${String(r.file_name)} column "${String(r.column_name)}": ${String(r.error_message)} (code ${String(r.error_code)})`)
    }
    const retryable = error instanceof StarlineError ? error.retryable : false
    const recorded = details.length > 0 ? ` Redshift recorded: ${details.join('; ')}.` : ''
    return new WarehouseLoadError(`Loading Parquet into Redshift failed and was rolled back: ${messageOf(error)}.${recorded}`, {
      cause: error,
      retryable,
    })
  }
}
