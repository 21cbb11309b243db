/**
 * The load ledger (dlt's `_dlt_loads`): one row per loaded run and one per
 * table of it, written in the same transaction as the data, so the
 * warehouse itself says what it holds and a run is never loaded twice.
 */
import type pg from 'pg'
import type { LoadedTable } from '../../schema/summaries.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { heldSinceColumn } from '../table-ddl.js'
import { lastRecordIdSql } from '../drift.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE, ledgerRangeQuery, type HeldRows, type LedgerDetail, type LedgerRange, type LedgerRow, type LedgerTableRow, type LoadPlan } from '../warehouse.js'

export async function isLoaded(client: pg.ClientBase, plan: LoadPlan): Promise<boolean> {
  const found = await client.query(`SELECT 1 FROM ${qualify(plan.schema, LEDGER_TABLE)} WHERE run_id = $1`, [plan.runId])
  return Boolean(found.rowCount)
}

export async function recordLoad(client: pg.ClientBase, plan: LoadPlan, loaded: readonly LoadedTable[]): Promise<void> {
  const rows = loaded.reduce((sum, t) => sum + t.rows, 0)
  await client.query(
    `INSERT INTO ${qualify(plan.schema, LEDGER_TABLE)} (run_id, dataset, manifest_sha256, rows, status) VALUES ($1, $2, $3, $4, 'loaded')`,
    [plan.runId, plan.dataset, plan.manifestSha256, rows],
  )
  for (const t of loaded) {
    await client.query(
      `INSERT INTO ${qualify(plan.schema, LEDGER_TABLES_TABLE)} (run_id, table_name, rows, inserted, updated, held, last_record_id)
       VALUES ($1, $2, $3, $4, $5, $6, ${lastRecordIdSql(plan, t.table)})`,
      [plan.runId, t.table, t.rows, t.inserted, t.updated, t.held],
    )
  }
}

/**
 * The loaded runs in `range` (all by default), oldest first; empty when the
 * ledger does not exist yet. A range reads through the primary key's index:
 * its cost does not grow with the ledger.
 */
export async function readLedger(client: pg.ClientBase, schema: string, range: LedgerRange = {}): Promise<LedgerRow[]> {
  const exists = await client.query('SELECT to_regclass($1) AS t', [qualify(schema, LEDGER_TABLE)])
  if (!exists.rows[0]?.t) return []
  const select = `SELECT run_id, dataset, manifest_sha256, rows::text AS rows, status, loaded_at FROM ${qualify(schema, LEDGER_TABLE)}`
  const query = ledgerRangeQuery(select, range)
  const result = await client.query<{ run_id: string; dataset: string; manifest_sha256: string; rows: string; status: string; loaded_at: Date }>(
    query.sql,
    query.params,
  )
  return result.rows.map((r) => ({
    runId: r.run_id,
    dataset: r.dataset,
    manifestSha256: r.manifest_sha256,
    rows: Number(r.rows),
    status: r.status,
    loadedAt: r.loaded_at,
  }))
}

/** What `starline status` reads: the ledger per table (of runs from `from` on, or all), and the facts waiting in the held tables. */
export async function readLedgerDetail(client: pg.ClientBase, schema: string, facts: readonly TableSpec[], from?: string): Promise<LedgerDetail> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualify(schema, LEDGER_TABLES_TABLE)])
  if (!exists.rows[0]?.t) return { tables: [], held: [] }
  const ledger = await client.query<{ run_id: string; table_name: string; rows: string; inserted: string; updated: string; held: string; loaded_at: Date }>(
    `SELECT t.run_id, t.table_name, t.rows::text AS rows, t.inserted::text AS inserted, t.updated::text AS updated,
            t.held::text AS held, l.loaded_at
       FROM ${qualify(schema, LEDGER_TABLES_TABLE)} t JOIN ${qualify(schema, LEDGER_TABLE)} l USING (run_id)
      ${from === undefined ? '' : 'WHERE t.run_id >= $1'}
      ORDER BY t.run_id, t.table_name`,
    from === undefined ? [] : [from],
  )
  const tables: LedgerTableRow[] = ledger.rows.map((r) => ({
    runId: r.run_id,
    table: r.table_name,
    rows: Number(r.rows),
    inserted: Number(r.inserted),
    updated: Number(r.updated),
    held: Number(r.held),
    loadedAt: r.loaded_at,
  }))
  const held: HeldRows[] = []
  for (const spec of facts) {
    const name = qualify(schema, heldTableName(spec))
    const present = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])
    if (!present.rows[0]?.t) continue
    const result = await client.query<{ rows: string; oldest: string | null }>(`SELECT count(*)::text AS rows, min(${quoteIdent(heldSinceColumn(spec))}) AS oldest FROM ${name}`)
    const row = result.rows[0]
    if (row && row.oldest !== null && Number(row.rows) > 0) held.push({ table: spec.name, rows: Number(row.rows), oldestRunId: row.oldest })
  }
  return { tables, held }
}
