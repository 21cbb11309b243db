/**
 * Dimension merge: update keys whose values changed, insert new keys, leave
 * identical rows alone. Two set-based statements (a join and an anti-join).
 * Redshift has no row-wise IS DISTINCT FROM, so "changed" is spelled per
 * column, NULL-safe. The ledger's counts come from the same predicates,
 * measured before the rows move, so they need no reads between statements
 * (a Data API batch cannot branch on a result).
 */
import { quoteIdent, quoteIdentList } from '../../sql/quote.js'
import type { TableSpec } from '../../schema/table-spec.js'
import { LEDGER_TABLES_TABLE } from '../warehouse.js'
import { qualify } from '../../sql/quote.js'
import type { Statement } from './redshift-session.js'
import { stageTable } from './redshift-staging.js'

/** A dimension with its parameter index in the run's script. */
export interface IndexedSpec {
  readonly spec: TableSpec
  /** Unique within the run: names this table's parameters (`:table_3`). */
  readonly index: number
}

function keyMatch(spec: TableSpec, target: string, stage: string): string {
  return (spec.primaryKey ?? []).map((k) => `${target}.${quoteIdent(k)} = ${stage}.${quoteIdent(k)}`).join(' AND ')
}

function nonKeyColumns(spec: TableSpec): string[] {
  const key = spec.primaryKey ?? []
  return spec.columns.map((c) => c.name).filter((n) => !key.includes(n))
}

/** True when any non-key column differs; NULL and NULL count as equal, NULL and a value as different. */
function changed(spec: TableSpec, target: string, stage: string): string {
  const columns = nonKeyColumns(spec)
  if (columns.length === 0) return 'false'
  return columns
    .map((n) => {
      const [t, s] = [`${target}.${quoteIdent(n)}`, `${stage}.${quoteIdent(n)}`]
      return `(${t} <> ${s} OR (${t} IS NULL) <> (${s} IS NULL))`
    })
    .join(' OR ')
}

/** One ledger row per dimension of the run: staged rows, keys new, keys changed. */
export function dimensionLedgerSql(schema: string, runId: string, dimensions: readonly IndexedSpec[]): Statement | undefined {
  if (dimensions.length === 0) return undefined
  const selects = dimensions.map(({ spec, index }) => {
    const firstKey = quoteIdent(spec.primaryKey![0]!)
    return (
      `SELECT CAST(:run_id AS varchar(64)), CAST(:table_${index} AS varchar(127)), count(*), ` +
      `coalesce(sum(CASE WHEN t.${firstKey} IS NULL THEN 1 ELSE 0 END), 0), ` +
      `coalesce(sum(CASE WHEN t.${firstKey} IS NOT NULL AND (${changed(spec, 't', 's')}) THEN 1 ELSE 0 END), 0), 0 ` +
      `FROM ${stageTable(schema, runId, spec)} AS s LEFT JOIN ${qualify(schema, spec.name)} AS t ON ${keyMatch(spec, 't', 's')}`
    )
  })
  return {
    sql: `INSERT INTO ${qualify(schema, LEDGER_TABLES_TABLE)} ("run_id", "table_name", "rows", "inserted", "updated", "held") ${selects.join(' UNION ALL ')}`,
    params: { run_id: runId, ...Object.fromEntries(dimensions.map(({ spec, index }) => [`table_${index}`, spec.name])) },
  }
}

/** The merge: UPDATE changed keys, then INSERT new ones. */
export function upsertDimensionSql(schema: string, runId: string, spec: TableSpec): Statement[] {
  const target = qualify(schema, spec.name)
  const stage = stageTable(schema, runId, spec)
  const others = nonKeyColumns(spec)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const statements: Statement[] = []
  if (others.length > 0) {
    statements.push({
      sql:
        `UPDATE ${target} AS t SET ${others.map((n) => `${quoteIdent(n)} = s.${quoteIdent(n)}`).join(', ')} ` +
        `FROM ${stage} AS s WHERE ${keyMatch(spec, 't', 's')} AND (${changed(spec, 't', 's')})`,
    })
  }
  statements.push({
    sql: `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage} AS s WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${keyMatch(spec, 't', 's')})`,
  })
  return statements
}
