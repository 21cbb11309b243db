/**
 * Compares the tables a DuckDB file already holds with the specs, so a load
 * into a table of another shape fails before any data moves.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { tableColumns, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
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

/**
 * Fact tables created before facts had a version key get a unique index on
 * it now (DuckDB cannot add a constraint to a table), so an existing file is
 * protected from a double load as a new one is.
 */
export async function ensureVersionKeys(db: DuckDb, schema: string, tables: readonly TableSpec[]): Promise<void> {
  for (const spec of tables) {
    if (!spec.versionKey) continue
    const wanted = [...spec.versionKey].sort().join('\u0000')
    const keys = await db.all<{ columns: string[] }>(
      `SELECT constraint_column_names AS columns FROM duckdb_constraints()
        WHERE schema_name = $1 AND table_name = $2 AND constraint_type IN ('UNIQUE', 'PRIMARY KEY')`,
      [schema, spec.name],
    )
    const indexes = await db.all<{ sql: string }>(`SELECT sql FROM duckdb_indexes() WHERE schema_name = $1 AND table_name = $2 AND is_unique`, [schema, spec.name])
    const name = `${spec.name}_version_key`
    if (keys.some((k) => [...k.columns].sort().join('\u0000') === wanted) || indexes.some((i) => i.sql.includes(quoteIdent(name)))) continue
    try {
      await db.run(`CREATE UNIQUE INDEX ${quoteIdent(name)} ON ${qualify(schema, spec.name)} (${spec.versionKey.map(quoteIdent).join(', ')})`)
    } catch (error) {
      throw new WarehouseSchemaMismatchError(
        `Fact table "${spec.name}" in schema "${schema}" holds some source row versions (${spec.versionKey.join(', ')}) more than once: ` +
          'it was loaded twice before starline kept a version key. Remove the duplicate rows (keep the lowest record id of each version), then run again.',
        { cause: error },
      )
    }
  }
}
