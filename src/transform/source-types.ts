/**
 * Source (PostgreSQL) column types -> the DuckDB types CSV files are read
 * with. Types are always explicit: inference would turn money into doubles
 * and text dates into dates before they are validated.
 */
import type { ColumnType } from '../schema/table-spec.js'

const EXACT: Readonly<Record<string, string>> = {
  integer: 'INTEGER',
  smallint: 'SMALLINT',
  bigint: 'BIGINT',
  boolean: 'BOOLEAN',
  text: 'VARCHAR',
  date: 'DATE',
  'double precision': 'DOUBLE',
  real: 'FLOAT',
  uuid: 'UUID',
  json: 'VARCHAR',
  jsonb: 'VARCHAR',
  bytea: 'VARCHAR',
}

/** DuckDB type for a `format_type()` string; unknown types (enums...) stay text, losslessly. */
export function duckdbTypeForPostgres(type: string): string {
  const exact = EXACT[type]
  if (exact) return exact
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(type)
  if (numeric) {
    // DuckDB decimals stop at 38 digits; wider ones stay exact as text.
    return Number(numeric[1]) <= 38 ? `DECIMAL(${numeric[1]},${numeric[2]})` : 'VARCHAR'
  }
  if (type === 'numeric') return 'VARCHAR'
  if (/^timestamp(\(\d\))? without time zone$/.test(type)) return 'TIMESTAMP'
  if (/^timestamp(\(\d\))? with time zone$/.test(type)) return 'TIMESTAMPTZ'
  if (/^time(\(\d\))? without time zone$/.test(type)) return 'TIME'
  return 'VARCHAR'
}

/** DuckDB type a model column must have to meet its contract. */
export function duckdbTypeForColumn(type: ColumnType): string {
  switch (type) {
    case 'integer':
      return 'INTEGER'
    case 'bigint':
      return 'BIGINT'
    case 'text':
    case 'varchar':
      return 'VARCHAR'
    case 'date':
      return 'DATE'
    case 'time':
      return 'TIME'
    case 'timestamp':
      return 'TIMESTAMP'
    case 'boolean':
      return 'BOOLEAN'
    case 'double':
      return 'DOUBLE'
    default:
      return type.replace('decimal', 'DECIMAL')
  }
}
