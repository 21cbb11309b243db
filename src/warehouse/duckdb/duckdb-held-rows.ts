/**
 * Facts whose dimension row has not arrived yet wait in `_starline_held_<fact>`
 * and are appended by the first load after it exists. The check is a query,
 * run before the insert, so the declared foreign keys never reject a load.
 */
import type { DuckDb, DuckDbParameter } from '../../engines/duckdb/duckdb-engine.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { heldSinceColumn, heldSinceStageColumn } from '../table-ddl.js'
import { WarehouseLoadError } from '../errors.js'
import type { LoadPlan } from '../warehouse.js'

/** `FROM relation s` joined to each referenced table, and the condition that some reference does not resolve. */
function unresolvedFrom(plan: LoadPlan, spec: TableSpec, relation: string): string | undefined {
  const references = spec.columns.filter((c) => c.references)
  if (references.length === 0) return undefined
  const joins = references
    .map((c, i) => `LEFT JOIN ${qualify(plan.schema, c.references!.table)} AS p${i} ON p${i}.${quoteIdent(c.references!.column)} = s.${quoteIdent(c.name)}`)
    .join(' ')
  const missing = references.map((c, i) => `(s.${quoteIdent(c.name)} IS NOT NULL AND p${i}.${quoteIdent(c.references!.column)} IS NULL)`).join(' OR ')
  return `FROM ${relation} AS s ${joins} WHERE ${missing}`
}

/**
 * Moves the rows of `relation` whose foreign keys do not resolve to the
 * fact's held table, stamped with `heldSince` (an SQL expression over the
 * row; `$1` is bound to `heldSinceValue`). Returns how many moved.
 */
export async function moveUnresolvedToHeld(
  db: DuckDb,
  plan: LoadPlan,
  spec: TableSpec,
  relation: string,
  heldSince: { readonly sql: string; readonly value: DuckDbParameter },
): Promise<number> {
  const unresolved = unresolvedFrom(plan, spec, relation)
  if (unresolved === undefined) return 0
  const columns = spec.columns.map((c) => c.name)
  // DuckDB has no data-modifying CTE (PostgreSQL's DELETE ... RETURNING into INSERT): copy, then
  // delete the same rows by rowid; the referenced tables do not change in between.
  const moved = await db.run(
    `INSERT INTO ${qualify(plan.schema, heldTableName(spec))} (${quoteIdentList(columns)}, ${quoteIdent(heldSinceColumn(spec))})
     SELECT ${columns.map((c) => `s.${quoteIdent(c)}`).join(', ')}, ${heldSince.sql} ${unresolved}`,
    [heldSince.value],
  )
  if (moved === 0) return 0
  const deleted = await db.run(`DELETE FROM ${relation} WHERE rowid IN (SELECT s.rowid ${unresolved})`)
  if (deleted !== moved) {
    throw new WarehouseLoadError(`Cannot load run ${plan.runId}: "${spec.name}" held ${moved} rows but removed ${deleted} from staging.`, {
      context: { runId: plan.runId, table: spec.name },
    })
  }
  return moved
}

/** Takes every row out of the fact's held table into `stage`, keeping the run that first held it. */
export async function takeHeldRows(db: DuckDb, plan: LoadPlan, spec: TableSpec, stage: string): Promise<number> {
  const held = qualify(plan.schema, heldTableName(spec))
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const taken = await db.run(`INSERT INTO ${stage} (${columns}, ${quoteIdent(heldSinceStageColumn(spec))}) SELECT ${columns}, ${quoteIdent(heldSinceColumn(spec))} FROM ${held}`)
  await db.run(`DELETE FROM ${held}`)
  return taken
}

export async function hasHeldRows(db: DuckDb, plan: LoadPlan, spec: TableSpec): Promise<boolean> {
  return (await db.all(`SELECT 1 FROM ${qualify(plan.schema, heldTableName(spec))} LIMIT 1`)).length > 0
}
