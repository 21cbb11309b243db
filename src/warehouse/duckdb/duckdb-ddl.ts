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
import { qualify } from '../../sql/quote.js'
import type { ColumnType } from '../../schema/table-spec.js'
import type { ColumnTypeOf } from '../table-ddl.js'
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

/** Fact record ids are plain integers: starline numbers them itself (DuckDB has no serial). */
export const duckDbColumnType: ColumnTypeOf = (column) => duckDbType(column.type)

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
    // Facts: the newest record id after the load, so drift (deleted or added rows) shows (see drift.ts).
    `ALTER TABLE ${qualify(schema, LEDGER_TABLES_TABLE)} ADD COLUMN IF NOT EXISTS last_record_id BIGINT`,
  ]
}
