/**
 * The exactly-once ledger in DuckDB: `_starline_loads` (one row per run) and
 * `_starline_load_tables` (one per table of it), written in the run's
 * transaction.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import type { LoadedTable } from '../../schema/summaries.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { heldSinceColumn } from '../table-ddl.js'
import { lastRecordIdSql } from '../drift.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE, ledgerRangeQuery, type HeldRows, type LedgerDetail, type LedgerRange, type LedgerRow, type LoadPlan } from '../warehouse.js'

export async function isLoaded(db: DuckDb, schema: string, runId: string): Promise<boolean> {
  return (await db.all(`SELECT 1 FROM ${qualify(schema, LEDGER_TABLE)} WHERE run_id = $1`, [runId])).length > 0
}

export async function recordLoad(db: DuckDb, plan: LoadPlan, loaded: readonly LoadedTable[]): Promise<void> {
  const rows = loaded.reduce((sum, t) => sum + t.rows, 0)
  // Counts bind as text and are cast: a JavaScript number would bind as DOUBLE.
  await db.run(
    `INSERT INTO ${qualify(plan.schema, LEDGER_TABLE)} (run_id, dataset, manifest_sha256, "rows", status) VALUES ($1, $2, $3, $4::BIGINT, 'loaded')`,
    [plan.runId, plan.dataset, plan.manifestSha256, String(rows)],
  )
  for (const t of loaded) {
    await db.run(
      `INSERT INTO ${qualify(plan.schema, LEDGER_TABLES_TABLE)} (run_id, table_name, "rows", inserted, updated, held, last_record_id)
       VALUES ($1, $2, $3::BIGINT, $4::BIGINT, $5::BIGINT, $6::BIGINT, ${lastRecordIdSql(plan, t.table)})`,
      [plan.runId, t.table, String(t.rows), String(t.inserted), String(t.updated), String(t.held)],
    )
  }
}

/** The runs in `range` (all by default) the schema's ledger holds, in run order; none if the ledger does not exist yet. */
export async function readLedger(db: DuckDb, schema: string, range: LedgerRange = {}): Promise<LedgerRow[]> {
  const exists = await db.all(
    `SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2`,
    [schema, LEDGER_TABLE],
  )
  if (exists.length === 0) return []
  const select = `SELECT run_id, dataset, manifest_sha256, "rows"::VARCHAR AS "rows", status, epoch_ms(loaded_at)::VARCHAR AS loaded_at
       FROM ${qualify(schema, LEDGER_TABLE)}`
  const query = ledgerRangeQuery(select, range)
  const rows = await db.all<{ run_id: string; dataset: string; manifest_sha256: string; rows: string; status: string; loaded_at: string }>(
    query.sql,
    query.params,
  )
  return rows.map((r) => ({
    runId: r.run_id,
    dataset: r.dataset,
    manifestSha256: r.manifest_sha256,
    rows: Number(r.rows),
    status: r.status,
    loadedAt: new Date(Number(r.loaded_at)),
  }))
}

/** What `starline status` reads: the ledger per table (of runs from `from` on, or all), and the facts waiting in the held tables. */
export async function readLedgerDetail(db: DuckDb, schema: string, facts: readonly TableSpec[], from?: string): Promise<LedgerDetail> {
  const present = async (table: string) =>
    (await db.all(`SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2`, [schema, table])).length > 0
  if (!(await present(LEDGER_TABLES_TABLE))) return { tables: [], held: [] }
  const rows = await db.all<{ run_id: string; table_name: string; rows: string; inserted: string; updated: string; held: string; loaded_at: string }>(
    `SELECT t.run_id, t.table_name, t."rows"::VARCHAR AS "rows", t.inserted::VARCHAR AS inserted, t.updated::VARCHAR AS updated,
            t.held::VARCHAR AS held, epoch_ms(l.loaded_at)::VARCHAR AS loaded_at
       FROM ${qualify(schema, LEDGER_TABLES_TABLE)} t JOIN ${qualify(schema, LEDGER_TABLE)} l USING (run_id)
      ${from === undefined ? '' : 'WHERE t.run_id >= $1'}
      ORDER BY t.run_id, t.table_name`,
    from === undefined ? [] : [from],
  )
  const held: HeldRows[] = []
  for (const spec of facts) {
    if (!(await present(heldTableName(spec)))) continue
    const [row] = await db.all<{ rows: string; oldest: string | null }>(
      `SELECT count(*)::VARCHAR AS "rows", min(${quoteIdent(heldSinceColumn(spec))}) AS oldest FROM ${qualify(schema, heldTableName(spec))}`,
    )
    if (row && row.oldest !== null && Number(row.rows) > 0) held.push({ table: spec.name, rows: Number(row.rows), oldestRunId: row.oldest })
  }
  return {
    tables: rows.map((r) => ({
      runId: r.run_id,
      table: r.table_name,
      rows: Number(r.rows),
      inserted: Number(r.inserted),
      updated: Number(r.updated),
      held: Number(r.held),
      loadedAt: new Date(Number(r.loaded_at)),
    })),
    held,
  }
}
