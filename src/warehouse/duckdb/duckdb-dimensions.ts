/**
 * Dimensions: insert new keys, update changed rows, leave identical rows
 * untouched, exactly as the PostgreSQL warehouse counts them.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import type { LoadedTable } from '../../schema/summaries.js'
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { createStage, insertParquet } from './duckdb-staging.js'

export async function loadDimension(db: DuckDb, plan: LoadPlan, table: LoadTable): Promise<LoadedTable> {
  const { spec } = table
  const target = qualify(plan.schema, spec.name)
  // An empty dimension takes its first load straight: its keys are unique (the transform
  // checked them), and there is nothing to merge with.
  if ((await db.all(`SELECT 1 FROM ${target} LIMIT 1`)).length === 0) {
    await insertParquet(db, plan, table, target)
    return { table: spec.name, rows: table.rows, inserted: table.rows, updated: 0, held: 0 }
  }
  const stage = await createStage(db, plan, spec)
  await insertParquet(db, plan, table, stage)
  return upsertDimension(db, plan, stage, table)
}

/**
 * Two set-based statements, a join and an anti-join. The update never
 * touches key columns: DuckDB refuses to change a key that facts reference,
 * and rewrites rows whose indexed columns change.
 */
async function upsertDimension(db: DuckDb, plan: LoadPlan, stage: string, table: LoadTable): Promise<LoadedTable> {
  const { spec } = table
  const target = qualify(plan.schema, spec.name)
  const key = spec.primaryKey ?? []
  const names = spec.columns.map((c) => c.name)
  const others = names.filter((n) => !key.includes(n))
  const columns = quoteIdentList(names)
  const matches = key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ')
  let updated = 0
  if (others.length > 0) {
    const changed = others.map((n) => `t.${quoteIdent(n)} IS DISTINCT FROM s.${quoteIdent(n)}`).join(' OR ')
    updated = await db.run(
      `UPDATE ${target} AS t SET ${others.map((n) => `${quoteIdent(n)} = s.${quoteIdent(n)}`).join(', ')} FROM ${stage} AS s
        WHERE ${matches} AND (${changed})`,
    )
  }
  const inserted = await db.run(
    `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage} AS s WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${matches})`,
  )
  return { table: spec.name, rows: table.rows, inserted, updated, held: 0 }
}
