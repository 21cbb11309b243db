/**
 * DDL for PostgreSQL from engine-neutral table specs.
 */
import { qualify } from '../../sql/quote.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'
import type { ColumnType } from '../../schema/table-spec.js'
import type { ColumnTypeOf } from '../table-ddl.js'

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
