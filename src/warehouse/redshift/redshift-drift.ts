/**
 * Redshift's side of the drift check (see ../drift.ts), as generated SQL
 * like the rest of the engine: the catalog (information_schema for tables
 * and columns; pg_constraint for the declared but unenforced keys, which
 * every role sees), the ledger totals
 * and one statement counting every star table (count(*) on Redshift reads
 * block headers, not rows). Record ids are checked where the ledger has
 * `last_record_id` (Redshift's ledger does not record it yet).
 */
import { currentViewName, heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { foreignKeyLabel, ledgerTotalsSql, primaryKeyLabel, totalsByTable, type ObservedTable, type WarehouseObservation } from '../drift.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'
import type { RedshiftSession, Statement, TextRow } from './redshift-session.js'

export function relationsSql(schema: string): Statement {
  return { sql: 'SELECT table_name FROM information_schema.tables WHERE table_schema = :schema', params: { schema } }
}

export function ledgerColumnSql(schema: string): Statement {
  return {
    sql: "SELECT column_name FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table AND column_name = 'last_record_id'",
    params: { schema, table: LEDGER_TABLES_TABLE },
  }
}

/**
 * Primary and foreign keys, one row per key column (grouped by constraint in keysOf), from the
 * system catalog. NOTE: not information_schema: its key_column_usage and constraint_column_usage
 * list only tables owned by a role the user has enabled, so a loader role that may read and write
 * the tables but does not own them would see no keys. pg_constraint is readable by every user;
 * `attnum = ANY(conkey)` expands the key's column numbers (Redshift runs it on the leader node,
 * as the sqlalchemy-redshift dialect's constraint reflection does), with no array in the result.
 */
export function keysSql(schema: string): Statement {
  return {
    sql:
      'SELECT CAST(cl.relname AS varchar) AS table_name, CAST(c.conname AS varchar) AS constraint_name, ' +
      "CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'FOREIGN KEY' END AS constraint_type, " +
      'CAST(a.attname AS varchar) AS column_name, CAST(rc.relname AS varchar) AS referenced ' +
      'FROM pg_catalog.pg_constraint c ' +
      'JOIN pg_catalog.pg_class cl ON cl.oid = c.conrelid ' +
      'JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace ' +
      'JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) ' +
      'LEFT JOIN pg_catalog.pg_class rc ON rc.oid = c.confrelid ' +
      "WHERE n.nspname = :schema AND c.contype IN ('p', 'f')",
    params: { schema },
  }
}

/** One statement: count(*) (and max record id) of every present star table and held table. */
export function countsSql(schema: string, relations: readonly { readonly name: string; readonly recordId?: string | undefined }[]): Statement {
  const parts = relations.map(
    (r, i) =>
      `SELECT CAST(:name_${i} AS varchar) AS "relation", CAST(count(*) AS varchar) AS "rows", ` +
      `CAST(${r.recordId ? `coalesce(max(${quoteIdent(r.recordId)}), 0)` : '0'} AS varchar) AS "max_id" FROM ${qualify(schema, r.name)}`,
  )
  return { sql: parts.join(' UNION ALL '), params: Object.fromEntries(relations.map((r, i) => [`name_${i}`, r.name])) }
}

export function runsSql(schema: string): Statement {
  return { sql: `SELECT CAST(count(*) AS varchar) AS "n" FROM ${qualify(schema, LEDGER_TABLE)}` }
}

/** Reads what compareWithLedger needs, through either connector. */
export async function observeWarehouse(session: RedshiftSession, schema: string, tables: readonly TableSpec[]): Promise<WarehouseObservation> {
  const relations = new Set((await session.query(relationsSql(schema))).rows.map((r) => r.table_name ?? ''))
  const ledgerExists = relations.has(LEDGER_TABLE) && relations.has(LEDGER_TABLES_TABLE)
  const withLast = ledgerExists && (await session.query(ledgerColumnSql(schema))).rows.length > 0
  const keys = keysOf((await session.query(keysSql(schema))).rows)
  const present = tables.flatMap((spec) => [
    ...(relations.has(spec.name) ? [{ name: spec.name, recordId: spec.recordId }] : []),
    ...(spec.kind === 'fact' && relations.has(heldTableName(spec)) ? [{ name: heldTableName(spec) }] : []),
  ])
  // Ledger and counts in one transaction: one snapshot, so a load committing meanwhile cannot look like drift.
  const statements = [
    ...(ledgerExists ? [runsSql(schema), { sql: ledgerTotalsSql(qualify(schema, LEDGER_TABLES_TABLE), withLast) }] : []),
    ...(present.length > 0 ? [countsSql(schema, present)] : []),
  ]
  const results = statements.length > 0 ? await session.transaction(statements) : []
  const runs = ledgerExists ? Number(results[0]?.rows[0]?.n ?? 0) : 0
  const totals = totalsByTable(
    (ledgerExists ? (results[1]?.rows ?? []) : []).map((r) => ({
      table_name: r.table_name ?? null,
      inserted: r.inserted ?? null,
      held: r.held ?? null,
      last_record_id: r.last_record_id ?? null,
    })),
  )
  const counted = new Map<string, TextRow>()
  for (const row of present.length > 0 ? (results.at(-1)?.rows ?? []) : []) counted.set(row.relation ?? '', row)
  const observed = new Map<string, ObservedTable>()
  for (const spec of tables) {
    const row = counted.get(spec.name)
    const held = counted.get(heldTableName(spec))
    observed.set(spec.name, {
      exists: row !== undefined,
      rows: Number(row?.rows ?? 0),
      maxRecordId: Number(row?.max_id ?? 0),
      keys: keys.get(spec.name) ?? [],
      currentView: spec.kind === 'fact' && relations.has(currentViewName(spec)),
      heldExists: held !== undefined,
      heldRows: Number(held?.rows ?? 0),
    })
  }
  return { ledgerExists, runs, totals, tables: observed }
}

function keysOf(rows: readonly TextRow[]): Map<string, string[]> {
  const constraints = new Map<string, { table: string; type: string; columns: string[]; referenced: string }>()
  for (const r of rows) {
    const id = `${r.table_name}\u0000${r.constraint_name}`
    const entry = constraints.get(id) ?? { table: r.table_name ?? '', type: r.constraint_type ?? '', columns: [], referenced: r.referenced ?? '' }
    if (r.column_name && !entry.columns.includes(r.column_name)) entry.columns.push(r.column_name)
    constraints.set(id, entry)
  }
  const keys = new Map<string, string[]>()
  for (const c of constraints.values()) {
    const label = c.type === 'PRIMARY KEY' ? primaryKeyLabel(c.columns) : foreignKeyLabel(c.columns, c.referenced)
    keys.set(c.table, [...(keys.get(c.table) ?? []), label])
  }
  return keys
}
