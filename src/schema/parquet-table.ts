/**
 * Engine-neutral description of a table the Parquet loader fills: its
 * columns' SQL types and load mode. The loader spec parses into these; each
 * warehouse maps them to its dialect.
 */

export const LOAD_MODES = ['truncate', 'append', 'merge'] as const
export type LoadMode = (typeof LOAD_MODES)[number]

/** A column's SQL type; each engine maps it to its own dialect. */
export type LoaderColumnType =
  | { readonly kind: 'bigint' | 'integer' | 'boolean' | 'double' | 'text' | 'date' | 'timestamp' }
  | { readonly kind: 'numeric'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'varchar'; readonly length: number }

export interface LoaderColumn {
  readonly name: string
  readonly type: LoaderColumnType
}

/** The canonical SQL spelling of a type (PostgreSQL's), for DDL and messages. */
export function columnTypeText(type: LoaderColumnType): string {
  switch (type.kind) {
    case 'numeric':
      return `numeric(${type.precision},${type.scale})`
    case 'varchar':
      return `varchar(${type.length})`
    case 'double':
      return 'double precision'
    default:
      return type.kind
  }
}

/** DuckDB's type for a column: what values are checked against and converted to. */
export function duckdbColumnType(type: LoaderColumnType): string {
  switch (type.kind) {
    case 'numeric':
      return `DECIMAL(${type.precision},${type.scale})`
    case 'varchar':
    case 'text':
      return 'VARCHAR'
    case 'double':
      return 'DOUBLE'
    default:
      return type.kind.toUpperCase()
  }
}
