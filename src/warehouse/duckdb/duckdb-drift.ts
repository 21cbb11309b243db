/**
 * DuckDB's side of the drift check (see ../drift.ts): the catalog, the
 * ledger totals and one count(*) per table, read in one transaction (one
 * snapshot), writing nothing.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { currentViewName, heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { foreignKeyLabel, ledgerTotalsSql, primaryKeyLabel, totalsByTable, type LedgerTotals, type ObservedTable, type WarehouseObservation } from '../drift.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'

export async function observeWarehouse(db: DuckDb, schema: string, tables: readonly TableSpec[]): Promise<WarehouseObservation> {
  const relations = new Set(
    (
      await db.all<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = $1',
        [schema],
      )
    ).map((r) => r.table_name),
  )
  const ledgerExists = relations.has(LEDGER_TABLE) && relations.has(LEDGER_TABLES_TABLE)
  let runs = 0
  let totals = new Map<string, LedgerTotals>()
  if (ledgerExists) {
    runs = Number((await db.all<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM ${qualify(schema, LEDGER_TABLE)}`))[0]!.n)
    const column = await db.all(
      `SELECT 1 FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2 AND column_name = 'last_record_id'`,
      [schema, LEDGER_TABLES_TABLE],
    )
    totals = totalsByTable(await db.all(ledgerTotalsSql(qualify(schema, LEDGER_TABLES_TABLE), column.length > 0)))
  }
  const keys = await tableKeys(db, schema)
  const observed = new Map<string, ObservedTable>()
  for (const spec of tables) {
    if (!relations.has(spec.name)) {
      observed.set(spec.name, { exists: false, rows: 0, maxRecordId: 0, keys: [], currentView: false, heldExists: false, heldRows: 0 })
      continue
    }
    // NOTE: a count over a column store reads no column data: DuckDB answers it from row group sizes.
    const maxId = spec.recordId ? `coalesce(max(${quoteIdent(spec.recordId)}), 0)` : '0'
    const [counted] = await db.all<{ rows: string; max_id: string }>(
      `SELECT count(*)::VARCHAR AS "rows", (${maxId})::VARCHAR AS max_id FROM ${qualify(schema, spec.name)}`,
    )
    const fact = spec.kind === 'fact'
    const heldExists = fact && relations.has(heldTableName(spec))
    const heldRows = heldExists ? Number((await db.all<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM ${qualify(schema, heldTableName(spec))}`))[0]!.n) : 0
    observed.set(spec.name, {
      exists: true,
      rows: Number(counted!.rows),
      maxRecordId: Number(counted!.max_id),
      keys: keys.get(spec.name) ?? [],
      currentView: fact && relations.has(currentViewName(spec)),
      heldExists,
      heldRows,
    })
  }
  return { ledgerExists, runs, totals, tables: observed }
}

/** The primary and foreign keys of every table of the schema, labelled as drift.ts names them. */
async function tableKeys(db: DuckDb, schema: string): Promise<Map<string, string[]>> {
  const rows = await db.all<{ table_name: string; constraint_type: string; columns: string[]; referenced_table: string | null }>(
    `SELECT table_name, constraint_type, constraint_column_names AS columns, referenced_table FROM duckdb_constraints()
      WHERE database_name = current_database() AND schema_name = $1 AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')`,
    [schema],
  )
  const keys = new Map<string, string[]>()
  for (const row of rows) {
    const label = row.constraint_type === 'PRIMARY KEY' ? primaryKeyLabel(row.columns) : foreignKeyLabel(row.columns, row.referenced_table ?? '')
    keys.set(row.table_name, [...(keys.get(row.table_name) ?? []), label])
  }
  return keys
}
