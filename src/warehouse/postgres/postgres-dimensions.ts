/**
 * Dimensions hold the latest values per key: a run's rows are upserted.
 */
import type pg from 'pg'
import type { LoadedTable } from '../../schema/summaries.js'
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { copyCsvInto, createStage } from './postgres-staging.js'

/** From this many rows, building an empty dimension's keys once, sorted, beats maintaining them row by row. */
const BULK_ROWS = 1_000

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
    const copy = () => copyCsvInto(client, plan, table, target, columns, csvPath)
    await (table.rows >= BULK_ROWS ? withKeysBuiltAfter(client, target, copy) : copy())
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

/**
 * Runs `copy` into an empty dimension without its primary and unique keys,
 * then builds them in one sorted pass (measured at scale 30: dim_transaction's
 * 476k rows, COPY with the key in place 1.7-2.7 s, COPY then key 0.9-1.2 s).
 * The foreign keys that reference the dimension depend on its key, so they
 * go too and come back exactly as they were (validated or NOT VALID): the
 * dimension was empty, so every row they cover has NULL in that column, and
 * dropping them locks those tables until commit, so nothing changes there
 * meanwhile (validating them again reads rows that can only be NULL there;
 * on a first load the tables are empty). A duplicate key fails the key's
 * build as it would have failed the COPY, and the transaction rolls back.
 */
async function withKeysBuiltAfter(client: pg.ClientBase, target: string, copy: () => Promise<void>): Promise<void> {
  // With only pg_catalog on the path, the definitions and table names come out schema-qualified.
  const [{ was }] = (await client.query<{ was: string }>("SELECT current_setting('search_path') AS was")).rows as [{ was: string }]
  await client.query("SELECT set_config('search_path', 'pg_catalog', true)")
  const keys = await client.query<{ owner: string; name: string; definition: string; own: boolean; here: boolean }>(
    `SELECT conrelid::regclass::text AS owner, conname AS name, pg_get_constraintdef(oid) AS definition, contype <> 'f' AS own,
            (SELECT relnamespace FROM pg_class WHERE oid = conrelid) = (SELECT relnamespace FROM pg_class WHERE oid = $1::regclass) AS here
       FROM pg_constraint
      WHERE (conrelid = $1::regclass AND contype IN ('p', 'u')) OR (confrelid = $1::regclass AND contype = 'f')
      ORDER BY own, owner, conname`,
    [target],
  )
  const own = keys.rows.filter((k) => k.own)
  const referencing = keys.rows.filter((k) => !k.own)
  // Only where the referencing tables are starline's and empty (a first load): anything else keeps its keys in place,
  // rather than lock and re-validate filled tables or alter tables of other owners.
  if (!(await onlyEmptyStarlineTables(client, referencing))) {
    await client.query("SELECT set_config('search_path', $1, true)", [was])
    return copy()
  }
  // NOTE: no finally: after a failure the transaction rolls back, search_path (set LOCAL) with it.
  for (const key of referencing) await client.query(`ALTER TABLE ${key.owner} DROP CONSTRAINT ${quoteIdent(key.name)}`)
  if (own.length > 0) await client.query(`ALTER TABLE ${target} ${own.map((k) => `DROP CONSTRAINT ${quoteIdent(k.name)}`).join(', ')}`)
  await copy()
  if (own.length > 0) await client.query(`ALTER TABLE ${target} ${own.map((k) => `ADD CONSTRAINT ${quoteIdent(k.name)} ${k.definition}`).join(', ')}`)
  for (const key of referencing) await client.query(`ALTER TABLE ${key.owner} ADD CONSTRAINT ${quoteIdent(key.name)} ${key.definition}`)
  await client.query("SELECT set_config('search_path', $1, true)", [was])
}

async function onlyEmptyStarlineTables(client: pg.ClientBase, referencing: readonly { owner: string; here: boolean }[]): Promise<boolean> {
  for (const key of referencing) {
    if (!key.here) return false
    // `owner` is PostgreSQL's own rendering of a regclass: quoted as an identifier needs.
    const [{ filled }] = (await client.query<{ filled: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${key.owner}) AS filled`)).rows as [{ filled: boolean }]
    if (filled) return false
  }
  return true
}
