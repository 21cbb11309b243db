/**
 * DDL for DuckDB from engine-neutral table specs: the same tables, keys,
 * `_current` views, held tables and ledger as PostgreSQL.
 *
 * NOTE: foreign keys are declared and DuckDB enforces them. DuckDB's limits
 * (no ALTER TABLE ... ADD FOREIGN KEY; a referenced key column cannot be
 * updated; a referenced table cannot be dropped first) do not touch how
 * starline loads: dimensions are upserted on their primary key, which the
 * upsert never changes, and facts only ever get new rows. Rows whose
 * dimension row is missing are found by a query and held before the insert,
 * so the constraint is a guarantee for the analyst, not a load-time check.
 */
import { qualify, quoteIdent } from '../../sql/quote.js'
import { currentViewName, heldTableName, tableColumns, type ColumnType, type TableSpec } from '../../schema/table-spec.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'

export function duckDbType(type: ColumnType): string {
  switch (type) {
    case 'text':
    case 'varchar':
      return 'VARCHAR'
    // Microseconds, no time zone: PostgreSQL's `timestamp` exactly.
    case 'timestamp':
      return 'TIMESTAMP'
    default:
      return type.toUpperCase()
  }
}

export function createTableSql(schema: string, spec: TableSpec): string {
  // Fact record ids are plain integers: starline numbers them itself (DuckDB has no serial).
  const lines = tableColumns(spec).map((column) => `  ${quoteIdent(column.name)} ${duckDbType(column.type)}${column.nullable ? '' : ' NOT NULL'}`)
  const key = spec.recordId ? [spec.recordId] : spec.primaryKey
  if (key) lines.push(`  PRIMARY KEY (${key.map(quoteIdent).join(', ')})`)
  if (spec.versionKey) lines.push(`  UNIQUE (${spec.versionKey.map(quoteIdent).join(', ')})`)
  for (const column of spec.columns) {
    if (!column.references) continue
    lines.push(
      `  FOREIGN KEY (${quoteIdent(column.name)}) REFERENCES ${qualify(schema, column.references.table)} (${quoteIdent(column.references.column)})`,
    )
  }
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, spec.name)} (\n${lines.join(',\n')}\n)`
}

/** Facts: the latest version of each source row, by the source's own version order (as PostgreSQL). */
export function createCurrentViewSql(schema: string, spec: TableSpec): string {
  const key = (spec.naturalKey ?? []).map(quoteIdent).join(', ')
  const newestFirst = [...(spec.appendOrder ?? []), spec.recordId!].map((c) => `${quoteIdent(c)} DESC`).join(', ')
  return (
    `CREATE OR REPLACE VIEW ${qualify(schema, currentViewName(spec))} AS ` +
    `SELECT DISTINCT ON (${key}) * FROM ${qualify(schema, spec.name)} ORDER BY ${key}, ${newestFirst}`
  )
}

/** Facts: rows waiting for a dimension row, with the run that first brought them. */
export function createHeldTableSql(schema: string, spec: TableSpec): string {
  const columns = spec.columns.map((c) => `  ${quoteIdent(c.name)} ${duckDbType(c.type)}`)
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, heldTableName(spec))} (\n${columns.join(',\n')},\n  held_since_run VARCHAR NOT NULL\n)`
}

/** The ledger: one row per loaded run, and one per table of it (PostgreSQL's columns, in its order). */
export function createLedgerSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LEDGER_TABLE)} (
  run_id VARCHAR PRIMARY KEY,
  dataset VARCHAR NOT NULL,
  manifest_sha256 VARCHAR NOT NULL,
  "rows" BIGINT NOT NULL,
  status VARCHAR NOT NULL,
  loaded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)`,
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LEDGER_TABLES_TABLE)} (
  run_id VARCHAR NOT NULL REFERENCES ${qualify(schema, LEDGER_TABLE)} (run_id),
  table_name VARCHAR NOT NULL,
  "rows" BIGINT NOT NULL,
  inserted BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  held BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, table_name)
)`,
  ]
}
