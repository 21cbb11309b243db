/**
 * Compares the tables a DuckDB file already holds with the specs, so a load
 * into a table of another shape fails before any data moves.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { tableColumns, type TableSpec } from '../../schema/table-spec.js'
import { WarehouseSchemaMismatchError } from '../errors.js'
import { duckDbType } from './duckdb-ddl.js'

/** Existing tables must have every column of their spec, with its type (VARCHAR stands for text and varchar). */
export async function checkColumns(db: DuckDb, schema: string, tables: readonly TableSpec[]): Promise<void> {
  const rows = await db.all<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_catalog = current_database() AND table_schema = $1`,
    [schema],
  )
  const actual = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r.data_type]))
  const problems: string[] = []
  for (const spec of tables) {
    for (const column of tableColumns(spec)) {
      const found = actual.get(`${spec.name}.${column.name}`)
      const expected = duckDbType(column.type)
      if (found === undefined) {
        problems.push(`table "${spec.name}" has no column "${column.name}"`)
      } else if (found.replace(/\s/g, '') !== expected.replace(/\s/g, '')) {
        problems.push(`column "${spec.name}"."${column.name}" is ${found}, expected ${expected}`)
      }
    }
  }
  if (problems.length > 0) {
    throw new WarehouseSchemaMismatchError(
      `The warehouse schema "${schema}" does not match what starline loads: ${problems.join('; ')}. ` +
        'Add or fix the columns, or drop the tables so they are recreated.',
    )
  }
}
