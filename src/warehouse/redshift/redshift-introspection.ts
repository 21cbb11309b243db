/**
 * Existing tables are read back from information_schema (Redshift keeps the
 * PostgreSQL views) and compared with the specs: a mismatch stops the load
 * with the list of differences, before any COPY.
 */
import { tableColumns, type ColumnType, type TableSpec } from '../../schema/table-spec.js'
import { WarehouseSchemaMismatchError } from '../errors.js'
import type { Statement, TextRow } from './redshift-session.js'

export function columnsSql(schema: string, tables: readonly TableSpec[]): Statement {
  const list = tables.map((_, i) => `:table_${i}`).join(', ')
  return {
    sql:
      'SELECT table_name, column_name, data_type, numeric_precision::varchar AS "precision", numeric_scale::varchar AS "scale" ' +
      `FROM information_schema.columns WHERE table_schema = :schema AND table_name IN (${list})`,
    params: { schema, ...Object.fromEntries(tables.map((t, i) => [`table_${i}`, t.name])) },
  }
}

/** Throws when an existing table lacks a column of its spec or has it with another type. */
export function checkColumns(schema: string, tables: readonly TableSpec[], rows: readonly TextRow[]): void {
  const actual = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]))
  const problems: string[] = []
  for (const spec of tables) {
    for (const column of tableColumns(spec)) {
      const found = actual.get(`${spec.name}.${column.name}`)
      if (!found) {
        problems.push(`table "${spec.name}" has no column "${column.name}"`)
        continue
      }
      // Record ids are bigint here (see redshift-ddl.ts); an int column made by hand still works.
      const expected: ColumnType = column.name === spec.recordId ? 'bigint' : column.type
      const ok = typeMatches(expected, found.data_type ?? '', found.precision, found.scale) || (expected === 'bigint' && found.data_type === 'integer')
      if (!ok) problems.push(`column "${spec.name}"."${column.name}" is ${found.data_type}, expected ${expected}`)
    }
  }
  if (problems.length > 0) {
    throw new WarehouseSchemaMismatchError(
      `The warehouse schema "${schema}" does not match what starline loads: ${problems.join('; ')}. ` +
        'Add or fix the columns, or drop the tables so they are recreated.',
    )
  }
}

function typeMatches(expected: ColumnType, dataType: string, precision: string | null | undefined, scale: string | null | undefined): boolean {
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(expected)
  if (decimal) return dataType === 'numeric' && precision === decimal[1] && scale === decimal[2]
  const names: Record<string, readonly string[]> = {
    integer: ['integer'],
    bigint: ['bigint'],
    text: ['character varying', 'text'],
    varchar: ['character varying', 'text'],
    date: ['date'],
    time: ['time without time zone'],
    timestamp: ['timestamp without time zone'],
    boolean: ['boolean'],
    double: ['double precision'],
  }
  return names[expected]?.includes(dataType) ?? false
}
