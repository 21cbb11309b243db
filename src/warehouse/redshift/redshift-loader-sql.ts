/**
 * The Parquet loader's SQL in Redshift's dialect. Pure functions, so golden
 * files pin every statement (test/golden/redshift-loader/).
 *
 * Redshift specifics this follows:
 * - `TRUNCATE` commits the open transaction, so a truncate load is
 *   `DELETE` + `INSERT` from a staging table inside one transaction instead.
 * - Parquet `COPY` maps file columns to table columns by position, so each
 *   table is staged in a temporary table built from the spec's column order,
 *   then inserted into the target by column name.
 * - The `COPY` reads a manifest listing exactly the checked files (with their
 *   `content_length`, which Redshift requires for columnar manifests), never a
 *   bare prefix that a producer may be writing into.
 * - `text` is Redshift's `VARCHAR(256)`; the loader's `text` is `VARCHAR(65535)`.
 */
import type { LoaderColumnType } from '../../schema/parquet-table.js'
import { WarehouseLoadError } from '../errors.js'
import { qualify, quoteIdent, quoteIdentList, quoteRedshiftLiteral } from '../../sql/quote.js'
import { ledgerFiles, LOADER_LEDGER_TABLE, type TableLoad } from '../table-loads.js'

export function redshiftColumnType(type: LoaderColumnType): string {
  switch (type.kind) {
    case 'numeric':
      return `NUMERIC(${type.precision},${type.scale})`
    case 'varchar':
      return `VARCHAR(${type.length})`
    case 'text':
      return 'VARCHAR(65535)'
    case 'double':
      return 'DOUBLE PRECISION'
    default:
      return type.kind.toUpperCase()
  }
}

/** The manifest body for a table's files (`s3://` URLs). */
export function manifestJson(table: Pick<TableLoad, 'files'>): string {
  const entries = table.files.map((f) => ({ url: f.url, mandatory: true, meta: { content_length: f.size } }))
  return `${JSON.stringify({ entries }, null, 2)}\n`
}

/** Schema and ledger DDL: the start of every load transaction. */
export function ledgerDdl(schema: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LOADER_LEDGER_TABLE)} (
  table_name VARCHAR(256) NOT NULL,
  mode VARCHAR(16) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  files VARCHAR(65535) NOT NULL,
  rows BIGINT NOT NULL,
  loaded_at TIMESTAMP NOT NULL DEFAULT GETDATE(),
  PRIMARY KEY (table_name)
)`,
  ]
}

/** Which tables and columns exist: read before a load to report `created` and compare columns. */
export function existingColumnsSql(schema: string): string {
  return `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ${quoteRedshiftLiteral(schema)} ORDER BY table_name, ordinal_position`
}

export function lastLoadsSql(schema: string): string {
  return `SELECT table_name, fingerprint, files FROM ${qualify(schema, LOADER_LEDGER_TABLE)}`
}

/** Marks the failure of `ledgerBasisSql`'s check in Redshift's error message. */
export const LEDGER_CHANGED_MARKER = 'starline_ledger_changed'

/**
 * Serializes loads of a schema and checks, inside the batch, that each
 * table's ledger row is still the one its load was planned from: Redshift
 * runs a batch without branching, so a mismatch fails the cast of the
 * marker to an integer, which rolls the whole batch back.
 */
export function ledgerBasisSql(schema: string, tables: readonly TableLoad[]): string[] {
  const checked = tables.filter((t) => t.basis !== undefined)
  if (checked.length === 0) return []
  const ledger = qualify(schema, LOADER_LEDGER_TABLE)
  return [
    `LOCK ${ledger}`,
    ...checked.map((t) => {
      const row = `SELECT 1 FROM ${ledger} WHERE table_name = ${quoteRedshiftLiteral(t.name)}`
      const unchanged = t.basis === null ? `NOT EXISTS (${row})` : `EXISTS (${row} AND fingerprint = ${quoteRedshiftLiteral(t.basis!)})`
      return `SELECT CAST(CASE WHEN ${unchanged} THEN '1' ELSE '${LEDGER_CHANGED_MARKER}' END AS INTEGER) AS ledger_unchanged`
    }),
  ]
}

/** The statements loading one table, inside the run's transaction. */
export function tableLoadSql(schema: string, table: TableLoad, options: { readonly iamRole: string; readonly manifestUrl: string }): string[] {
  const target = qualify(schema, table.name)
  const stage = quoteIdent(`starline_stage_${table.name}`.slice(0, 127))
  const columns = quoteIdentList(table.columns.map((c) => c.name))
  const definitions = table.columns.map((c) => `  ${quoteIdent(c.name)} ${redshiftColumnType(c.type)}`).join(',\n')
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${target} (\n${definitions}\n)`,
    `CREATE TEMPORARY TABLE ${stage} (\n${definitions}\n)`,
    `COPY ${stage} FROM ${quoteRedshiftLiteral(options.manifestUrl)} IAM_ROLE ${quoteRedshiftLiteral(options.iamRole)} FORMAT AS PARQUET MANIFEST`,
  ]
  if (table.mode === 'truncate') statements.push(`DELETE FROM ${target}`)
  if (table.mode === 'merge') {
    const match = table.key.map((k) => `${target}.${quoteIdent(k)} = ${stage}.${quoteIdent(k)}`).join(' AND ')
    statements.push(`DELETE FROM ${target} USING ${stage} WHERE ${match}`)
  }
  statements.push(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage}`, `DROP TABLE ${stage}`)
  // A file list past VARCHAR(65535) is recorded as the manifest, which lists the same files.
  const files = ledgerFiles(table)
  const fits = Buffer.byteLength(files) <= 65535
  if (!fits && table.mode === 'append') {
    // An append must know every file it appended; a manifest only names this run's.
    throw new WarehouseLoadError(
      `Table "${table.name}": the files appended so far no longer fit the ledger's VARCHAR(65535) on Redshift. ` +
        'Load the table with mode truncate or merge, or append from a new prefix; nothing was loaded.',
      { context: { table: table.name } },
    )
  }
  const recorded = fits ? files : JSON.stringify({ manifest: options.manifestUrl })
  return [...statements, ...ledgerRowSql(schema, table, recorded)]
}

/** Replaces the table's ledger row (Redshift has no upsert that every version accepts). */
function ledgerRowSql(schema: string, table: TableLoad, files: string): string[] {
  const ledger = qualify(schema, LOADER_LEDGER_TABLE)
  const values = [table.name, table.mode, table.fingerprint, files].map(quoteRedshiftLiteral).join(', ')
  return [
    `DELETE FROM ${ledger} WHERE table_name = ${quoteRedshiftLiteral(table.name)}`,
    `INSERT INTO ${ledger} (table_name, mode, fingerprint, files, rows) VALUES (${values}, ${Math.trunc(table.rows)})`,
  ]
}

/**
 * What Redshift recorded about the newest COPY failures for exactly the
 * files of this load: the file, column, and reason, for the error message.
 */
export function loadErrorsSql(fileUrls: readonly string[]): string {
  const files = fileUrls.length === 0 ? 'NULL' : fileUrls.map(quoteRedshiftLiteral).join(', ')
  return `SELECT TRIM(file_name) AS file_name, TRIM(column_name) AS column_name, error_code, TRIM(error_message) AS error_message
FROM sys_load_error_detail
WHERE TRIM(file_name) IN (${files})
ORDER BY start_time DESC
LIMIT 5`
}
