/**
 * Facts: every row appended as a new version with a record id, except rows
 * whose dimension row is missing (held, see duckdb-held-rows.ts).
 *
 * Record ids continue from the table's maximum in append order, so a run
 * loads with the same ids whether or not an earlier attempt was killed. The
 * two paths and their numbering are PostgreSQL's, so both warehouses give
 * every row the same id: a bulk append into a fact with nothing held numbers
 * all its rows first and holds the unresolved ones after (their ids stay
 * unused); otherwise held rows join the run's rows and the ids are numbered
 * after the unresolved rows are set aside.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import type { LoadedTable } from '../../schema/summaries.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { heldSinceStageColumn } from '../table-ddl.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { hasHeldRows, moveUnresolvedToHeld, takeHeldRows } from './duckdb-held-rows.js'
import { createStage, dropStage, insertParquet } from './duckdb-staging.js'

export async function loadFacts(db: DuckDb, plan: LoadPlan, table: LoadTable): Promise<LoadedTable> {
  const { spec } = table
  const last = await lastRecordId(db, plan, spec)
  // A run that may repeat loaded versions takes the staging path, where they are skipped before ids are numbered.
  if (!table.repeatsVersions && !(await hasHeldRows(db, plan, spec)) && isBulk(table.rows, last)) {
    const stage = await createStage(db, plan, spec, { recordId: true })
    await insertParquet(db, plan, table, stage, last)
    const held = await moveUnresolvedToHeld(db, plan, spec, stage, { sql: '$1', value: plan.runId })
    const columns = quoteIdentList([spec.recordId!, ...spec.columns.map((c) => c.name)])
    await db.run(`INSERT INTO ${qualify(plan.schema, spec.name)} (${columns}) SELECT ${columns} FROM ${stage}`)
    await dropStage(db, stage)
    return { table: spec.name, rows: table.rows, inserted: table.rows - held, updated: 0, held }
  }
  const stage = await createStage(db, plan, spec, { heldSince: true })
  await insertParquet(db, plan, table, stage)
  const skipped = table.repeatsVersions ? await skipHeldVersions(db, plan, spec, stage) : 0
  const loaded = await appendFacts(db, plan, stage, spec, table.rows)
  await dropStage(db, stage)
  return skipped > 0 ? { ...loaded, alreadyHeld: skipped } : loaded
}

/**
 * Removes from `stage` the versions the fact table (or its held table)
 * already holds, for a run marked as possibly repeating them (see
 * postgres-facts.ts). Returns how many.
 */
async function skipHeldVersions(db: DuckDb, plan: LoadPlan, spec: TableSpec, stage: string): Promise<number> {
  const key = spec.versionKey
  if (key === undefined) return 0
  const same = (alias: string) => key.map((c) => `${alias}.${quoteIdent(c)} = s.${quoteIdent(c)}`).join(' AND ')
  return db.run(
    `DELETE FROM ${stage} AS s
      WHERE EXISTS (SELECT 1 FROM ${qualify(plan.schema, spec.name)} AS f WHERE ${same('f')})
         OR EXISTS (SELECT 1 FROM ${qualify(plan.schema, heldTableName(spec))} AS h WHERE ${same('h')})`,
  )
}

/** A fact this run brought nothing for: rows held by earlier runs whose dimension rows may now exist. */
export async function releaseHeldFacts(db: DuckDb, plan: LoadPlan, spec: TableSpec): Promise<LoadedTable | undefined> {
  if (!(await hasHeldRows(db, plan, spec))) return undefined
  const stage = await createStage(db, plan, spec, { heldSince: true })
  const released = await appendFacts(db, plan, stage, spec, 0)
  await dropStage(db, stage)
  return released
}

async function appendFacts(db: DuckDb, plan: LoadPlan, stage: string, spec: TableSpec, rows: number): Promise<LoadedTable> {
  await takeHeldRows(db, plan, spec, stage)
  // Rows released above keep the run that first held them.
  const held = await moveUnresolvedToHeld(db, plan, spec, stage, { sql: `coalesce(s.${quoteIdent(heldSinceStageColumn(spec))}, $1)`, value: plan.runId })
  const last = await lastRecordId(db, plan, spec)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const order = quoteIdentList(spec.appendOrder ?? spec.columns.map((c) => c.name))
  const inserted = await db.run(
    `INSERT INTO ${qualify(plan.schema, spec.name)} (${quoteIdent(spec.recordId!)}, ${columns})
     SELECT ${last}::BIGINT + row_number() OVER (ORDER BY ${order}), ${columns} FROM ${stage}`,
  )
  return { table: spec.name, rows, inserted, updated: 0, held }
}

async function lastRecordId(db: DuckDb, plan: LoadPlan, spec: TableSpec): Promise<number> {
  const [row] = await db.all<{ last: string }>(
    `SELECT coalesce(max(${quoteIdent(spec.recordId!)}), 0)::VARCHAR AS last FROM ${qualify(plan.schema, spec.name)}`,
  )
  return Number(row?.last ?? 0)
}

/**
 * PostgreSQL's threshold for its direct path, kept so that ids match: large
 * enough, next to what the table holds, that one validation pass beats a
 * check per row.
 */
function isBulk(rows: number, existing: number): boolean {
  return rows >= 1_000 && rows * 10 >= existing
}
