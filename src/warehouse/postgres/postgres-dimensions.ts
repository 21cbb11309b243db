/**
 * Dimensions hold the latest values per key: a run's rows are upserted.
 */
import type pg from 'pg'
import type { LoadedTable } from '../../schema/summaries.js'
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { copyCsvInto, createStage } from './postgres-staging.js'

/**
 * Loads a dimension from `csvPath`. An empty dimension takes its first load
 * straight, without staging: its keys are unique (the transform checked
 * them), and there is nothing to merge with.
 */
export async function loadDimension(client: pg.ClientBase, plan: LoadPlan, table: LoadTable, csvPath: string): Promise<LoadedTable> {
  const { spec } = table
  const target = qualify(plan.schema, spec.name)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  if (!(await client.query(`SELECT 1 FROM ${target} LIMIT 1`)).rowCount) {
    await copyCsvInto(client, plan, table, target, columns, csvPath)
    return { table: spec.name, rows: table.rows, inserted: table.rows, updated: 0, held: 0 }
  }
  const stage = await createStage(client, plan, spec)
  await copyCsvInto(client, plan, table, stage, columns, csvPath)
  // Temporary tables get no statistics on their own; the merge plans need them.
  await client.query(`ANALYZE ${stage}`)
  return upsertDimension(client, target, stage, table)
}

/**
 * Insert new keys, update changed ones, leave identical rows untouched. Two
 * set-based statements (a join and an anti-join) instead of a conflict check
 * per row; the schema's advisory lock keeps other loads out in between.
 */
async function upsertDimension(client: pg.ClientBase, target: string, stage: string, table: LoadTable): Promise<LoadedTable> {
  const { spec } = table
  const key = spec.primaryKey ?? []
  const names = spec.columns.map((c) => c.name)
  const others = names.filter((n) => !key.includes(n))
  const columns = quoteIdentList(names)
  const matches = key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ')
  let updated = 0
  if (others.length > 0) {
    const result = await client.query(
      `UPDATE ${target} t SET ${others.map((n) => `${quoteIdent(n)} = s.${quoteIdent(n)}`).join(', ')} FROM ${stage} s
        WHERE ${matches} AND (${others.map((n) => `t.${quoteIdent(n)}`).join(', ')}) IS DISTINCT FROM (${others.map((n) => `s.${quoteIdent(n)}`).join(', ')})`,
    )
    updated = result.rowCount ?? 0
  }
  const inserted = await client.query(
    `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage} s WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${matches})`,
  )
  return { table: spec.name, rows: table.rows, inserted: inserted.rowCount ?? 0, updated, held: 0 }
}
