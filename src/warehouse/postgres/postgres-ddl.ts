/**
 * DDL for PostgreSQL from engine-neutral table specs.
 */
import { qualify, quoteIdent } from '../../sql/quote.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'
import { inDependencyOrder, type ColumnType, type TableSpec } from '../../schema/table-spec.js'
import { createCurrentViewSql, createHeldTableSql, createTableSql, type ColumnTypeOf } from '../table-ddl.js'

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

/** Fact record ids are serial for anyone inserting by hand; starline numbers them itself. */
export const postgresColumnType: ColumnTypeOf = (column, spec) => (column.name === spec.recordId ? 'serial' : postgresType(column.type))

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
    // Facts: the newest record id after the load, so drift (deleted or added rows) shows (see drift.ts).
    `ALTER TABLE ${qualify(schema, LEDGER_TABLES_TABLE)} ADD COLUMN IF NOT EXISTS last_record_id bigint`,
  ]
}

/**
 * A first load's side schema (see postgres-first-load.ts): every starline
 * object of `schema` as ensureTables makes it, except the facts' foreign
 * keys, which foreignKeySql adds once every table is built. Without them a
 * fact's build locks none of the dimensions it references, so two facts
 * build at once on two connections. The schema is created afresh: a side
 * schema a killed load left behind is dropped first.
 */
export function createSideSchemaSql(schema: string, tables: readonly TableSpec[]): string[] {
  const statements = [`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`, `CREATE SCHEMA ${quoteIdent(schema)}`]
  for (const spec of inDependencyOrder(tables)) {
    statements.push(createTableSql(schema, withoutForeignKeys(spec), postgresColumnType))
    if (spec.kind === 'fact') {
      statements.push(createHeldTableSql(schema, spec, postgresColumnType, 'text'), createCurrentViewSql(schema, spec))
    }
  }
  return [...statements, ...createLedgerSql(schema)]
}

/**
 * `ALTER TABLE` adding the foreign keys createTableSql declares for `spec`,
 * unnamed, so PostgreSQL names them as CREATE TABLE does, `NOT
 * VALID` when `notValid` (as a bulk fact append leaves them); undefined when
 * the table has none.
 */
export function foreignKeySql(schema: string, spec: TableSpec, notValid: boolean): string | undefined {
  const keys = spec.columns.filter((c) => c.references)
  if (keys.length === 0) return undefined
  const adds = keys.map(
    (c) =>
      `ADD FOREIGN KEY (${quoteIdent(c.name)}) ` +
      `REFERENCES ${qualify(schema, c.references!.table)} (${quoteIdent(c.references!.column)})${notValid ? ' NOT VALID' : ''}`,
  )
  return `ALTER TABLE ${qualify(schema, spec.name)} ${adds.join(', ')}`
}

function withoutForeignKeys(spec: TableSpec): TableSpec {
  return { ...spec, columns: spec.columns.map(({ references: _, ...column }) => column) }
}
