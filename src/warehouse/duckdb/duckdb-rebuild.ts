/**
 * `starline rebuild`'s swap on DuckDB: the lake was loaded into a build
 * schema; one transaction drops the target's starline objects, recreates
 * them from the specs and copies the build's rows in, then drops the build.
 * DuckDB can move neither schemas nor tables with keys between schemas, so
 * rows are copied (a columnar copy inside the file). Nothing is visible, or
 * written for good, before COMMIT: a kill leaves the target as it was.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { heldTableName, inDependencyOrder, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { WarehouseError } from '../errors.js'
import { createCurrentViewSql, createHeldTableSql, createTableSql, starlineObjects } from '../table-ddl.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'
import { createLedgerSql, duckDbColumnType } from './duckdb-ddl.js'

/** Call inside a transaction. */
export async function swapInBuild(db: DuckDb, build: string, target: string, tables: readonly TableSpec[]): Promise<void> {
  await assertNoNewerLoads(db, build, target)
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target)}`)
  // Views first, then every table before the tables it references (DuckDB refuses the other order).
  for (const o of starlineObjects(tables)) await db.run(`DROP ${o.kind} IF EXISTS ${qualify(target, o.name)}`)
  for (const sql of createLedgerSql(target)) await db.run(sql)
  await copyRows(db, build, target, LEDGER_TABLE)
  await copyRows(db, build, target, LEDGER_TABLES_TABLE)
  for (const spec of inDependencyOrder(tables)) {
    await db.run(createTableSql(target, spec, duckDbColumnType))
    await copyRows(db, build, target, spec.name)
    if (spec.kind !== 'fact') continue
    await db.run(createHeldTableSql(target, spec, duckDbColumnType, 'VARCHAR'))
    await copyRows(db, build, target, heldTableName(spec))
    await db.run(createCurrentViewSql(target, spec))
  }
  await db.run(`DROP SCHEMA ${quoteIdent(build)} CASCADE`)
}

/** Both sides were made by the same DDL, so their columns are in the same order. */
async function copyRows(db: DuckDb, build: string, target: string, table: string): Promise<void> {
  await db.run(`INSERT INTO ${qualify(target, table)} SELECT * FROM ${qualify(build, table)}`)
}

/** A load that committed into the target while the rebuild ran would be lost by the swap: refuse instead. */
async function assertNoNewerLoads(db: DuckDb, build: string, target: string): Promise<void> {
  const present = await db.all(
    'SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2',
    [target, LEDGER_TABLE],
  )
  if (present.length === 0) return
  const [newer] = await db.all<{ run_id: string }>(
    `SELECT run_id FROM ${qualify(target, LEDGER_TABLE)} t WHERE NOT EXISTS (SELECT 1 FROM ${qualify(build, LEDGER_TABLE)} b WHERE b.run_id = t.run_id) ORDER BY run_id LIMIT 1`,
  )
  if (newer === undefined) return
  throw new WarehouseError(
    `Schema "${target}" holds run ${newer.run_id}, which the rebuilt tables lack: a load committed while the rebuild ran. Nothing was swapped; run \`starline rebuild\` again.`,
    { retryable: true, context: { runId: newer.run_id } },
  )
}
