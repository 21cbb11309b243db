/**
 * DDL for PostgreSQL from engine-neutral table specs.
 */
import { qualify, quoteIdent } from '../../sql/quote.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'
import { currentViewName, heldTableName, tableColumns, type ColumnType, type TableSpec } from '../../schema/table-spec.js'

export function postgresType(type: ColumnType): string {
  switch (type) {
    case 'double':
      return 'double precision'
    case 'time':
      return 'time'
    default:
      return type.startsWith('decimal') ? type.replace('decimal', 'numeric') : type
  }
}

export function createTableSql(schema: string, spec: TableSpec): string {
  const lines = tableColumns(spec).map((column) => {
    // Fact record ids are serial for anyone inserting by hand; starline numbers them itself.
    const type = column.name === spec.recordId ? 'serial' : postgresType(column.type)
    return `  ${quoteIdent(column.name)} ${type}${column.nullable ? '' : ' NOT NULL'}`
  })
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

/** Facts: the latest version of each source row, by the highest record id. */
export function createCurrentViewSql(schema: string, spec: TableSpec): string {
  const key = (spec.naturalKey ?? []).map(quoteIdent).join(', ')
  // Latest by the source's own version order: a version held for a late dimension gets a
  // higher record id when released, though a newer version may have been loaded before it.
  const newestFirst = [...(spec.appendOrder ?? []), spec.recordId!].map((c) => `${quoteIdent(c)} DESC`).join(', ')
  return (
    `CREATE OR REPLACE VIEW ${qualify(schema, currentViewName(spec))} AS ` +
    `SELECT DISTINCT ON (${key}) * FROM ${qualify(schema, spec.name)} ORDER BY ${key}, ${newestFirst}`
  )
}

/** Facts: rows waiting for a dimension row, with the run that first brought them. */
export function createHeldTableSql(schema: string, spec: TableSpec): string {
  const columns = spec.columns.map((c) => `  ${quoteIdent(c.name)} ${postgresType(c.type)}`)
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, heldTableName(spec))} (\n${columns.join(',\n')},\n  held_since_run text NOT NULL\n)`
}

/** The ledger: one row per loaded run, and one per table of it. New columns go at the end. */
export function createLedgerSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LEDGER_TABLE)} (
  run_id text PRIMARY KEY,
  dataset text NOT NULL,
  manifest_sha256 text NOT NULL,
  rows bigint NOT NULL,
  status text NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
)`,
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LEDGER_TABLES_TABLE)} (
  run_id text NOT NULL REFERENCES ${qualify(schema, LEDGER_TABLE)} (run_id),
  table_name text NOT NULL,
  rows bigint NOT NULL,
  inserted bigint NOT NULL,
  updated bigint NOT NULL,
  PRIMARY KEY (run_id, table_name)
)`,
    `ALTER TABLE ${qualify(schema, LEDGER_TABLES_TABLE)} ADD COLUMN IF NOT EXISTS held bigint NOT NULL DEFAULT 0`,
  ]
}
