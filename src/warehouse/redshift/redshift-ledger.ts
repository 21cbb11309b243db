/**
 * The load ledger in Redshift: the run's row is written first in the merge
 * transaction (its per-table rows reference it), under a lock on the
 * ledger so two loaders of one schema take turns. Redshift does not enforce
 * the primary key, so a guard statement fails the transaction when the run
 * is in the ledger twice (a loader that raced past the first check): the
 * whole run rolls back, and the warehouse reports it as already loaded.
 */
import { qualify } from '../../sql/quote.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE, type LedgerRange } from '../warehouse.js'
import type { Statement } from './redshift-session.js'

export function lockLedgerSql(schema: string): Statement {
  return { sql: `LOCK ${qualify(schema, LEDGER_TABLE)}` }
}

export interface LedgerEntry {
  readonly runId: string
  readonly dataset: string
  readonly manifestSha256: string
  readonly rows: number
  /** When the run loaded, by the client's clock (the same statement serves both connectors). */
  readonly loadedAt: Date
}

export function insertLedgerSql(schema: string, entry: LedgerEntry): Statement {
  return {
    sql:
      `INSERT INTO ${qualify(schema, LEDGER_TABLE)} ("run_id", "dataset", "manifest_sha256", "rows", "status", "loaded_at") ` +
      `VALUES (:run_id, :dataset, :manifest_sha256, :rows, 'loaded', CAST(:loaded_at AS timestamptz))`,
    params: { run_id: entry.runId, dataset: entry.dataset, manifest_sha256: entry.manifestSha256, rows: entry.rows, loaded_at: timestampLiteral(entry.loadedAt) },
  }
}

/** `2024-11-19 09:31:02.123+00`: the form Redshift and PostgreSQL both parse as timestamptz. */
function timestampLiteral(at: Date): string {
  return `${at.toISOString().replace('T', ' ').replace('Z', '')}+00`
}

/** Divides by zero (fails the transaction) when the run is in the ledger more than once. */
export function ledgerGuardSql(schema: string, runId: string): Statement {
  return {
    sql: `SELECT 1 / (CASE WHEN count(*) > 1 THEN 0 ELSE 1 END) AS "once" FROM ${qualify(schema, LEDGER_TABLE)} WHERE "run_id" = :run_id`,
    params: { run_id: runId },
  }
}

/** Whether a schema's ledger exists (information_schema: both Redshift and PostgreSQL have it). */
export function ledgerExistsSql(schema: string): Statement {
  return {
    sql: 'SELECT count(*)::varchar AS "n" FROM information_schema.tables WHERE table_schema = :schema AND table_name = :table',
    params: { schema, table: LEDGER_TABLE },
  }
}

export function ledgerHasRunSql(schema: string, runId: string): Statement {
  return { sql: `SELECT "run_id" FROM ${qualify(schema, LEDGER_TABLE)} WHERE "run_id" = :run_id`, params: { run_id: runId } }
}

/**
 * The loaded runs in `range` (all by default), oldest first; numbers as text
 * so 64-bit counts stay exact through the Data API's JSON.
 */
export function loadedRunsSql(schema: string, range: LedgerRange = {}): Statement {
  const select =
    'SELECT "run_id", "dataset", "manifest_sha256", "rows"::varchar AS "rows", "status", ' +
    `to_char("loaded_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "loaded_at" FROM ${qualify(schema, LEDGER_TABLE)}`
  if (range.newest) return { sql: `${select} ORDER BY "run_id" DESC LIMIT 1` }
  if (range.from !== undefined) return { sql: `${select} WHERE "run_id" >= :from_run ORDER BY "run_id"`, params: { from_run: range.from } }
  return { sql: `${select} ORDER BY "run_id"` }
}

/** The per-table rows one run wrote: what loadRun reports. */
export function runTablesSql(schema: string, runId: string): Statement {
  return {
    sql:
      'SELECT "table_name", "rows"::varchar AS "rows", "inserted"::varchar AS "inserted", "updated"::varchar AS "updated", "held"::varchar AS "held" ' +
      `FROM ${qualify(schema, LEDGER_TABLES_TABLE)} WHERE "run_id" = :run_id`,
    params: { run_id: runId },
  }
}
