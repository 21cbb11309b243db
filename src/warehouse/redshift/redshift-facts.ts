/**
 * Fact append with deterministic record ids: the table's max record id plus
 * row_number() over the append order, so a rerun of a run (after a crash
 * or a failed attempt) assigns exactly the same ids. No IDENTITY column
 * (its values are neither dense nor repeatable in Redshift).
 */
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { LEDGER_TABLES_TABLE } from '../warehouse.js'
import type { IndexedSpec } from './redshift-dimensions.js'
import type { Statement } from './redshift-session.js'
import { stageTable } from './redshift-staging.js'

export interface IndexedFact extends IndexedSpec {
  /** False when the run brought no file for this fact: it is staged only to release held rows. */
  readonly loaded: boolean
  /** Rows the processed manifest says the run's file holds (0 when not loaded). */
  readonly rows: number
}

/**
 * One ledger row per fact, measured after held rows moved and before the
 * append: rows appended (what is left in the stage) and rows held. A fact
 * the run did not bring gets a row only when something was or is held.
 */
export function factLedgerSql(schema: string, runId: string, facts: readonly IndexedFact[]): Statement | undefined {
  if (facts.length === 0) return undefined
  const selects = facts.map(({ spec, index, loaded }) => {
    const rows = loaded ? `CAST(:rows_${index} AS bigint)` : '0'
    const measured =
      `SELECT CAST(:run_id AS varchar(64)), CAST(:table_${index} AS varchar(127)), ${rows}, st.n, 0, hd.n FROM (SELECT count(*) AS n FROM ${stageTable(schema, runId, spec)}) AS st ` +
      `CROSS JOIN (SELECT count(*) AS n FROM ${qualify(schema, heldTableName(spec))}) AS hd`
    return loaded ? measured : `${measured} WHERE st.n > 0 OR hd.n > 0`
  })
  return {
    sql: `INSERT INTO ${qualify(schema, LEDGER_TABLES_TABLE)} ("run_id", "table_name", "rows", "inserted", "updated", "held") ${selects.join(' UNION ALL ')}`,
    params: {
      run_id: runId,
      ...Object.fromEntries(
        facts.flatMap(({ spec, index, loaded, rows }) => [[`table_${index}`, spec.name], ...(loaded ? [[`rows_${index}`, rows]] : [])]),
      ),
    },
  }
}

/** Appends the stage's rows, numbered after the table's max record id in the append order. */
export function appendFactsSql(schema: string, runId: string, spec: TableSpec): Statement {
  const target = qualify(schema, spec.name)
  const recordId = quoteIdent(spec.recordId!)
  const columns = spec.columns.map((c) => c.name)
  const order = quoteIdentList(spec.appendOrder ?? columns)
  return {
    sql:
      `INSERT INTO ${target} (${recordId}, ${quoteIdentList(columns)}) ` +
      `SELECT m."last" + row_number() OVER (ORDER BY ${order}), ${columns.map((c) => `s.${quoteIdent(c)}`).join(', ')} ` +
      `FROM ${stageTable(schema, runId, spec)} AS s CROSS JOIN (SELECT coalesce(max(${recordId}), 0) AS "last" FROM ${target}) AS m`,
  }
}

/**
 * For a run that may repeat loaded versions (late rows re-read): removes
 * from the stage the versions the fact table or its held table already
 * holds. Redshift has no ON CONFLICT (and does not enforce the unique
 * version key), so it is an anti-join on the version key.
 */
export function skipHeldVersionsSql(schema: string, runId: string, spec: TableSpec): Statement[] {
  const key = spec.versionKey
  if (key === undefined) return []
  const stage = stageTable(schema, runId, spec)
  const same = key.map((c) => `${stage}.${quoteIdent(c)} = f.${quoteIdent(c)}`).join(' AND ')
  return [qualify(schema, spec.name), qualify(schema, heldTableName(spec))].map((holder) => ({ sql: `DELETE FROM ${stage} USING ${holder} AS f WHERE ${same}` }))
}
