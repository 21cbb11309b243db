/**
 * Existing warehouse tables are read back from information_schema and
 * compared with the specs: a real warehouse's own column list wins over any
 * diagram, so a mismatch stops the load with the list of differences.
 */
import type pg from 'pg'
import { tableColumns, type ColumnType, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { WarehouseSchemaMismatchError } from '../errors.js'

/** Existing tables must have every column of their spec, with a compatible type. */
export async function checkColumns(client: pg.ClientBase, schema: string, tables: readonly TableSpec[]): Promise<void> {
  const result = await client.query<{ table_name: string; column_name: string; data_type: string; precision: number | null; scale: number | null }>(
    `SELECT table_name, column_name, data_type, numeric_precision AS precision, numeric_scale AS scale
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2::text[])`,
    [schema, tables.map((t) => t.name)],
  )
  const actual = new Map(result.rows.map((r) => [`${r.table_name}.${r.column_name}`, r]))
  const problems: string[] = []
  for (const spec of tables) {
    for (const column of tableColumns(spec)) {
      const found = actual.get(`${spec.name}.${column.name}`)
      if (!found) {
        problems.push(`table "${spec.name}" has no column "${column.name}"`)
      } else if (!typeMatches(column.type, found.data_type, found.precision, found.scale)) {
        problems.push(`column "${spec.name}"."${column.name}" is ${found.data_type}, expected ${column.type}`)
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

function typeMatches(expected: ColumnType, dataType: string, precision: number | null, scale: number | null): boolean {
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(expected)
  if (decimal) return dataType === 'numeric' && precision === Number(decimal[1]) && scale === Number(decimal[2])
  const names: Record<string, readonly string[]> = {
    integer: ['integer'],
    bigint: ['bigint'],
    text: ['text', 'character varying'],
    varchar: ['character varying', 'text'],
    date: ['date'],
    time: ['time without time zone'],
    timestamp: ['timestamp without time zone'],
    boolean: ['boolean'],
    double: ['double precision'],
  }
  return names[expected]?.includes(dataType) ?? false
}

/**
 * Fact tables created before facts had a version key get it now, so an
 * existing warehouse is protected from a double load as a new one is. A table
 * that already holds a version twice is reported, not silently fixed.
 */
export async function ensureVersionKeys(client: pg.ClientBase, schema: string, tables: readonly TableSpec[]): Promise<void> {
  for (const spec of tables) {
    if (!spec.versionKey) continue
    const found = await client.query(
      `SELECT 1 FROM pg_index i
        WHERE i.indrelid = $1::regclass AND i.indisunique
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = (SELECT array_agg(c ORDER BY c) FROM unnest($2::text[]) c)`,
      [qualify(schema, spec.name), spec.versionKey],
    )
    if (found.rowCount) continue
    await client.query('SAVEPOINT starline_version_key')
    try {
      await client.query(`ALTER TABLE ${qualify(schema, spec.name)} ADD UNIQUE (${spec.versionKey.map(quoteIdent).join(', ')})`)
      await client.query('RELEASE SAVEPOINT starline_version_key')
    } catch (error) {
      if (sqlStateOf(error) !== '23505') throw error
      throw new WarehouseSchemaMismatchError(
        `Fact table "${spec.name}" in schema "${schema}" holds some source row versions (${spec.versionKey.join(', ')}) more than once: ` +
          'it was loaded twice before starline kept a version key. Remove the duplicate rows (keep the lowest record id of each version), then run again.',
        { cause: error },
      )
    }
  }
}
