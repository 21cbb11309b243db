/**
 * DDL every engine with PostgreSQL's table syntax shares (PostgreSQL,
 * DuckDB): tables with their keys, `_current` views and held tables, from
 * the engine-neutral specs. An engine supplies only its column types
 * (Kysely's dialects override only what differs).
 */
import { createHash } from 'node:crypto'
import { currentViewName, heldTableName, inDependencyOrder, tableColumns, type ColumnSpec, type TableSpec } from '../schema/table-spec.js'
import { qualify, quoteIdent } from '../sql/quote.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from './warehouse.js'

/**
 * The stage column that carries, for a fact row released from its held
 * table, the run that first held it: this name, or (see heldSinceStageColumn)
 * one the fact's own columns leave free.
 */
export const HELD_SINCE_COLUMN = '_starline_held_since'

/** The held table's column with the run that first held each row (warehouses since the first have it under this name). */
export const HELD_SINCE_RUN_COLUMN = 'held_since_run'

/**
 * The held table's run column for `spec`: `held_since_run`, or, when the
 * fact has a column of that name, that name with underscores in front
 * until no column of the fact has it. Held tables of facts without such a
 * column keep the name every warehouse already has.
 */
export function heldSinceColumn(spec: TableSpec): string {
  return freeColumnName(HELD_SINCE_RUN_COLUMN, spec)
}

/** The stage's held-since column for `spec`: HELD_SINCE_COLUMN, or a name the fact's columns leave free. */
export function heldSinceStageColumn(spec: TableSpec): string {
  return freeColumnName(HELD_SINCE_COLUMN, spec)
}

/** `base` with underscores in front until no column of the table has it (compared without case, as Redshift and DuckDB do). */
function freeColumnName(base: string, spec: TableSpec): string {
  const taken = new Set(tableColumns(spec).map((c) => c.name.toLowerCase()))
  let name = base
  while (taken.has(name.toLowerCase())) name = `_${name}`
  return name
}

/** The engine's type for a column of `spec` (a fact's record id may get its own). */
export type ColumnTypeOf = (column: ColumnSpec, spec: TableSpec) => string

export function createTableSql(schema: string, spec: TableSpec, typeOf: ColumnTypeOf): string {
  const lines = tableColumns(spec).map((column) => `  ${quoteIdent(column.name)} ${typeOf(column, spec)}${column.nullable ? '' : ' NOT NULL'}`)
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

/**
 * Facts: the latest version of each source row, by the source's own version
 * order: a version held for a late dimension gets a higher record id when
 * released, though a newer version may have been loaded before it.
 */
export function createCurrentViewSql(schema: string, spec: TableSpec): string {
  const key = (spec.naturalKey ?? []).map(quoteIdent).join(', ')
  const newestFirst = [...(spec.appendOrder ?? []), spec.recordId!].map((c) => `${quoteIdent(c)} DESC`).join(', ')
  return (
    `CREATE OR REPLACE VIEW ${qualify(schema, currentViewName(spec))} AS ` +
    `SELECT DISTINCT ON (${key}) * FROM ${qualify(schema, spec.name)} ORDER BY ${key}, ${newestFirst}`
  )
}

/** Facts: rows waiting for a dimension row, with the run that first brought them (`textType` holds its id). */
export function createHeldTableSql(schema: string, spec: TableSpec, typeOf: ColumnTypeOf, textType: string): string {
  const columns = spec.columns.map((c) => `  ${quoteIdent(c.name)} ${typeOf(c, spec)}`)
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, heldTableName(spec))} (\n${columns.join(',\n')},\n  ${quoteIdent(heldSinceColumn(spec))} ${textType} NOT NULL\n)`
}

/**
 * The starline objects of a schema, views first, then tables with every
 * table before those it references: the order `starline rebuild` drops or
 * moves them in.
 */
export function starlineObjects(tables: readonly TableSpec[]): { readonly name: string; readonly kind: 'VIEW' | 'TABLE' }[] {
  const ordered = inDependencyOrder(tables).reverse()
  return [
    ...ordered.filter((s) => s.kind === 'fact').map((s) => ({ name: currentViewName(s), kind: 'VIEW' as const })),
    ...ordered.filter((s) => s.kind === 'fact').map((s) => ({ name: heldTableName(s), kind: 'TABLE' as const })),
    ...ordered.map((s) => ({ name: s.name, kind: 'TABLE' as const })),
    { name: LEDGER_TABLES_TABLE, kind: 'TABLE' },
    { name: LEDGER_TABLE, kind: 'TABLE' },
  ]
}

/** `<purpose>_<12 hex digits of the schema's SHA-256>`: 31 bytes or fewer, whatever the schema's name
 * (rebuild's build and retired schemas, a first load's side schema: a name plus a suffix, cut to the identifier
 * limit, could be the target itself). */
export function sideSchemaName(purpose: 'starline_rebuild' | 'starline_retired' | 'starline_firstload', schema: string): string {
  return `${purpose}_${createHash('sha256').update(schema).digest('hex').slice(0, 12)}`
}
