/**
 * Facts keep full history: every row of a run is appended as a new fact
 * row, never updated. Record ids continue from the table's maximum in a
 * fixed order (the spec's appendOrder), so a run loads with the same ids
 * whether or not an earlier attempt was killed.
 */
import type pg from 'pg'
import type { LoadedTable } from '../../schema/summaries.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { heldSinceStageColumn } from '../table-ddl.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { hasHeldRows, moveUnresolvedToHeld, takeHeldRows } from './postgres-held-rows.js'
import { copyCsvInto, createStage } from './postgres-staging.js'

/**
 * Loads a fact table's rows of one run from `csvPath`: straight into the
 * table when it is a bulk append with nothing held (`direct`, from
 * directAppendBase: the CSV then carries record ids; see copyFactsDirect),
 * through a staging table otherwise.
 */
export async function loadFacts(client: pg.ClientBase, plan: LoadPlan, table: LoadTable, csvPath: string, direct: number | undefined): Promise<LoadedTable> {
  if (direct !== undefined) return copyFactsDirect(client, plan, table, csvPath, direct)
  const stage = await createStage(client, plan, table.spec)
  await copyCsvInto(client, plan, table, stage, quoteIdentList(table.spec.columns.map((c) => c.name)), csvPath)
  await client.query(`ANALYZE ${stage}`)
  // Before held rows are taken and ids numbered: a skipped version takes no id and is never held.
  const skipped = table.repeatsVersions ? await skipHeldVersions(client, plan, table.spec, stage) : 0
  const loaded = await appendFacts(client, plan, stage, table.spec, table.rows)
  return skipped > 0 ? { ...loaded, alreadyHeld: skipped } : loaded
}

/**
 * Removes from `stage` the versions the fact table (or its held table)
 * already holds, for a run marked as possibly repeating them (late rows
 * re-read: a row rewritten without a new watermark looks late but is a
 * version loaded before). Returns how many.
 */
async function skipHeldVersions(client: pg.ClientBase, plan: LoadPlan, spec: TableSpec, stage: string): Promise<number> {
  const key = spec.versionKey
  if (key === undefined) return 0
  const same = (alias: string) => key.map((c) => `${alias}.${quoteIdent(c)} = s.${quoteIdent(c)}`).join(' AND ')
  const result = await client.query(
    `DELETE FROM ${stage} AS s
      WHERE EXISTS (SELECT 1 FROM ${qualify(plan.schema, spec.name)} AS f WHERE ${same('f')})
         OR EXISTS (SELECT 1 FROM ${qualify(plan.schema, heldTableName(spec))} AS h WHERE ${same('h')})`,
  )
  return result.rowCount ?? 0
}

/** A run that brought no rows of `spec` may still bring the dimension rows its held facts wait for. */
export async function releaseHeldFacts(client: pg.ClientBase, plan: LoadPlan, spec: TableSpec): Promise<LoadedTable | undefined> {
  if (!(await hasHeldRows(client, plan, spec))) return undefined
  const stage = await createStage(client, plan, spec)
  return appendFacts(client, plan, stage, spec, 0)
}

/**
 * The record id a bulk append of `table` continues from, when the direct
 * path applies: a bulk append, no earlier rows held (those need the
 * staging path's re-check), and no versions to skip. Undefined otherwise.
 */
export async function directAppendBase(client: pg.ClientBase, plan: LoadPlan, table: LoadTable): Promise<number | undefined> {
  const { spec } = table
  const result = await client.query<{ last: string; held: boolean }>(
    `SELECT (SELECT coalesce(max(${quoteIdent(spec.recordId!)}), 0) FROM ${qualify(plan.schema, spec.name)})::text AS last,
            EXISTS (SELECT 1 FROM ${qualify(plan.schema, heldTableName(spec))}) AS held`,
  )
  const row = result.rows[0]!
  // A run that may repeat loaded versions takes the staging path: only there are they skipped.
  if (table.repeatsVersions) return undefined
  return !row.held && isBulk(table.rows, Number(row.last)) ? Number(row.last) : undefined
}

/**
 * A bulk fact append without staging: the rows arrive numbered and are
 * COPYed straight into the fact table (foreign keys dropped meanwhile), then
 * any row whose dimension row is missing moves to the held table. Half the
 * writes of staging then inserting.
 */
async function copyFactsDirect(client: pg.ClientBase, plan: LoadPlan, table: LoadTable, csvPath: string, base: number): Promise<LoadedTable> {
  const { spec } = table
  const target = qualify(plan.schema, spec.name)
  const recordId = quoteIdent(spec.recordId!)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  let held = 0
  // The new rows' references, all keys in one pass (the proof the keys come back NOT VALID on).
  const moveUnresolved = async () => {
    held = await moveUnresolvedToHeld(client, plan, spec, target, { where: `s.${recordId} > ${Math.trunc(base)}`, heldSince: '$1', countFirst: true })
  }
  await withoutForeignKeyTriggers(
    client,
    target,
    () => copyCsvInto(client, plan, table, target, `${recordId}, ${columns}`, csvPath),
    moveUnresolved,
    base === 0,
  )
  await syncSequence(client, target, spec)
  return { table: spec.name, rows: table.rows, inserted: table.rows - held, updated: 0, held }
}

/**
 * Append every staged row as a new fact, except rows whose dimension rows
 * have not arrived: those wait in the held table (with rows held by earlier
 * runs, which are released into the stage first and re-checked).
 */
async function appendFacts(client: pg.ClientBase, plan: LoadPlan, stage: string, spec: TableSpec, rows: number): Promise<LoadedTable> {
  const target = qualify(plan.schema, spec.name)
  const recordId = quoteIdent(spec.recordId!)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const order = quoteIdentList(spec.appendOrder ?? spec.columns.map((c) => c.name))

  await client.query(`ALTER TABLE ${stage} ADD COLUMN ${quoteIdent(heldSinceStageColumn(spec))} text`)
  await takeHeldRows(client, plan, spec, stage)
  // Rows released above keep the run that first held them.
  const heldRows = await moveUnresolvedToHeld(client, plan, spec, stage, { heldSince: `coalesce(${quoteIdent(heldSinceStageColumn(spec))}, $1)` })
  const [{ last, waiting }] = (
    await client.query<{ last: string; waiting: string }>(
      `SELECT (SELECT coalesce(max(${recordId}), 0) FROM ${target})::text AS last, (SELECT count(*) FROM ${stage})::text AS waiting`,
    )
  ).rows as [{ last: string; waiting: string }]
  const append = () =>
    client.query(
      `INSERT INTO ${target} (${recordId}, ${columns})
       SELECT $1::bigint + row_number() OVER (ORDER BY ${order}), ${columns} FROM ${stage}`,
      [last],
    )
  // Record ids are dense but for rows moved to hold, so `last` stands in for the table's size.
  // Every staged row resolves: unresolved ones moved to the held table above.
  const proven = async () => {}
  const appended = isBulk(Number(waiting), Number(last)) ? await withoutForeignKeyTriggers(client, target, append, proven) : await append()
  await syncSequence(client, target, spec)
  return { table: spec.name, rows, inserted: appended.rowCount ?? 0, updated: 0, held: heldRows }
}

/** Large enough, next to what the table holds, that one validation pass beats a check per row. */
export function isBulk(rows: number, existing: number): boolean {
  return rows >= 1_000 && rows * 10 >= existing
}

/** Keeps the serial's sequence ahead of the ids, for anyone inserting by hand. */
async function syncSequence(client: pg.ClientBase, target: string, spec: TableSpec): Promise<void> {
  await client.query(
    `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(${quoteIdent(spec.recordId!)}) FROM ${target}), 0) + 1, false)`,
    [target, spec.recordId],
  )
}

/**
 * PostgreSQL checks foreign keys row by row, one index probe per key per
 * row (measured: 90% of a 16,000-row fact append). For a bulk append the
 * keys are dropped and come back afterwards, in the same transaction.
 *
 * They come back `NOT VALID`, because `prove` has just shown every row they
 * cover resolves: the held-row check, one pass over the new rows with a hash
 * join per key, moves any row whose dimension row is missing to the held
 * table. Re-adding the keys validated would check the same again, one full
 * pass over the whole table per key (measured at scale 30: 4.0 s for
 * fact_payment's seven keys, against 1.4 s for the one pass). A `NOT VALID`
 * key is enforced for every later write and guards the dimension rows it
 * references; only its catalog flag differs. `ALTER TABLE ... VALIDATE
 * CONSTRAINT` sets the flag whenever convenient (it blocks neither reads nor
 * loads). Takes an exclusive lock on the fact table until commit, as any
 * bulk load would.
 */
async function withoutForeignKeyTriggers<T>(
  client: pg.ClientBase,
  target: string,
  work: () => Promise<T>,
  /** Makes every row the dropped foreign keys cover resolve (moves the rest to the held table). */
  prove: () => Promise<void>,
  /**
   * Also drop the primary and unique keys (an empty fact table: nothing
   * references it): building their indexes once, sorted, beats maintaining
   * them row by row.
   */
  withPrimaryKey = false,
): Promise<T> {
  // With only pg_catalog on the path, the definitions name every table with its schema.
  const [{ was }] = (await client.query<{ was: string }>("SELECT current_setting('search_path') AS was")).rows as [{ was: string }]
  await client.query("SELECT set_config('search_path', 'pg_catalog', true)")
  // NOTE: no finally: after a failure the transaction is aborted and rolls back, search_path with it
  // (it is set LOCAL), and a statement there would only replace the real error with "transaction is aborted".
  const keys = await client.query<{ name: string; definition: string; foreign: boolean }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition, contype = 'f' AS foreign FROM pg_constraint
      WHERE conrelid = $1::regclass AND contype = ANY($2::"char"[]) ORDER BY contype = 'p' DESC, contype = 'u' DESC, conname`,
    [target, withPrimaryKey ? ['f', 'p', 'u'] : ['f']],
  )
  if (keys.rows.length > 0) {
    await client.query(`ALTER TABLE ${target} ${keys.rows.map((key) => `DROP CONSTRAINT ${quoteIdent(key.name)}`).join(', ')}`)
  }
  const result = await work()
  await prove()
  // The definitions are PostgreSQL's own rendering of constraints it holds (a key added
  // NOT VALID by an earlier load renders with it). One ALTER: one pass to build the indexes.
  const readd = keys.rows.map((key) => {
    const definition = key.foreign ? `${key.definition.replace(/\s+NOT VALID$/, '')} NOT VALID` : key.definition
    return `ADD CONSTRAINT ${quoteIdent(key.name)} ${definition}`
  })
  if (readd.length > 0) await client.query(`ALTER TABLE ${target} ${readd.join(', ')}`)
  await client.query("SELECT set_config('search_path', $1, true)", [was])
  return result
}
