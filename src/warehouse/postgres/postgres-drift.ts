/**
 * PostgreSQL's side of the drift check (see ../drift.ts): the catalog, the
 * ledger totals and one count(*) per table, read in one snapshot so a load
 * committing meanwhile cannot look like drift.
 */
import type pg from 'pg'
import { currentViewName, heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { foreignKeyLabel, ledgerTotalsSql, primaryKeyLabel, totalsByTable, type ObservedTable, type WarehouseObservation } from '../drift.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'

/** Reads what compareWithLedger needs. Run it inside a REPEATABLE READ transaction: one snapshot. */
export async function observeWarehouse(client: pg.ClientBase, schema: string, tables: readonly TableSpec[]): Promise<WarehouseObservation> {
  const exists = async (name: string): Promise<boolean> =>
    Boolean((await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualify(schema, name)])).rows[0]?.t)
  const ledgerExists = (await exists(LEDGER_TABLE)) && (await exists(LEDGER_TABLES_TABLE))
  let runs = 0
  let totals = new Map()
  if (ledgerExists) {
    runs = Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualify(schema, LEDGER_TABLE)}`)).rows[0]!.n)
    const column = await client.query(
      "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'last_record_id'",
      [schema, LEDGER_TABLES_TABLE],
    )
    totals = totalsByTable((await client.query(ledgerTotalsSql(qualify(schema, LEDGER_TABLES_TABLE), Boolean(column.rowCount)))).rows)
  }
  const keys = await tableKeys(client, schema)
  const observed = new Map<string, ObservedTable>()
  for (const spec of tables) {
    if (!(await exists(spec.name))) {
      observed.set(spec.name, { exists: false, rows: 0, maxRecordId: 0, keys: [], currentView: false, heldExists: false, heldRows: 0 })
      continue
    }
    // NOTE: count(*) reads the whole table (an index-only scan at best); max(record id) reads one index entry.
    const maxId = spec.recordId ? `coalesce(max(${quoteIdent(spec.recordId)}), 0)` : '0'
    const counted = (await client.query<{ rows: string; max_id: string }>(`SELECT count(*)::text AS rows, ${maxId}::text AS max_id FROM ${qualify(schema, spec.name)}`)).rows[0]!
    const fact = spec.kind === 'fact'
    const heldExists = fact && (await exists(heldTableName(spec)))
    const heldRows = heldExists ? Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualify(schema, heldTableName(spec))}`)).rows[0]!.n) : 0
    observed.set(spec.name, {
      exists: true,
      rows: Number(counted.rows),
      maxRecordId: Number(counted.max_id),
      keys: keys.get(spec.name) ?? [],
      currentView: fact && (await exists(currentViewName(spec))),
      heldExists,
      heldRows,
    })
  }
  return { ledgerExists, runs, totals, tables: observed }
}

/** The primary and foreign keys of every table of the schema, labelled as drift.ts names them. */
async function tableKeys(client: pg.ClientBase, schema: string): Promise<Map<string, string[]>> {
  const result = await client.query<{ table_name: string; contype: string; columns: string[]; referenced: string | null }>(
    `SELECT cl.relname::text AS table_name, c.contype::text AS contype, rc.relname::text AS referenced,
            (SELECT array_agg(a.attname::text) FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) AS columns
       FROM pg_constraint c
       JOIN pg_class cl ON cl.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
       LEFT JOIN pg_class rc ON rc.oid = c.confrelid
      WHERE n.nspname = $1 AND c.contype IN ('p', 'f')`,
    [schema],
  )
  const keys = new Map<string, string[]>()
  for (const row of result.rows) {
    const label = row.contype === 'p' ? primaryKeyLabel(row.columns) : foreignKeyLabel(row.columns, row.referenced ?? '')
    keys.set(row.table_name, [...(keys.get(row.table_name) ?? []), label])
  }
  return keys
}
