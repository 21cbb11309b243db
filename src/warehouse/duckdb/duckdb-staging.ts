/**
 * Bytes in: DuckDB reads a run's Parquet file itself (`read_parquet`), so
 * rows go from the file into a temporary staging table (or straight into an
 * empty dimension) without passing through JavaScript.
 */
import type { DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import type { TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent, quoteIdentList, quoteLiteral } from '../../sql/quote.js'
import { heldSinceStageColumn } from '../table-ddl.js'
import { WarehouseLoadError } from '../errors.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { numberedParquetSelect } from '../record-ids.js'

/** The Parquet file of `table` as a relation (a path cannot be bound; it goes through quoteLiteral). */
function parquetSource(table: LoadTable): string {
  return `read_parquet(${quoteLiteral(localPath(table))})`
}

function localPath(table: LoadTable): string {
  // NOTE: DuckDB streams from a local copy (capability copyFromObjectStore is false), so the load stage gives a path.
  if (table.path === undefined) {
    throw new WarehouseLoadError(`Cannot load "${table.spec.name}" into DuckDB: no local copy of ${table.objectUrl} was made.`, {
      context: { table: table.spec.name },
    })
  }
  return table.path
}

/**
 * A temporary staging table with the target's data columns and types,
 * without its constraints; optionally with the fact's record id first, or a
 * held-since column (heldSinceStageColumn) for rows released from the held table. Dropped by
 * dropStage once loaded, or with the connection at the end of the load.
 */
export async function createStage(
  db: DuckDb,
  plan: LoadPlan,
  spec: TableSpec,
  extra: { readonly recordId?: boolean; readonly heldSince?: boolean } = {},
): Promise<string> {
  const stage = quoteIdent(`_starline_stage_${spec.name}`)
  const names = spec.columns.map((c) => c.name)
  const columns = quoteIdentList(extra.recordId ? [spec.recordId!, ...names] : names)
  await db.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT ${columns} FROM ${qualify(plan.schema, spec.name)} LIMIT 0`)
  if (extra.heldSince) await db.run(`ALTER TABLE ${stage} ADD COLUMN ${quoteIdent(heldSinceStageColumn(spec))} VARCHAR`)
  return stage
}

/**
 * Drops a staging table once its rows are in the target. A temporary table
 * lives in memory until dropped: kept to the end of the load, the three
 * fact stages of a scale-100 first load held ~330 MB beside each other.
 */
export async function dropStage(db: DuckDb, stage: string): Promise<void> {
  await db.run(`DROP TABLE IF EXISTS ${stage}`)
}

/**
 * Inserts the Parquet rows of `table` into `relation` by column name, and
 * checks the count against the manifest. With `recordIdBase`, facts get
 * record ids numbered in append order after it.
 */
export async function insertParquet(db: DuckDb, plan: LoadPlan, table: LoadTable, relation: string, recordIdBase?: number): Promise<number> {
  const { spec } = table
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const sql =
    recordIdBase === undefined
      ? `INSERT INTO ${relation} (${columns}) SELECT ${columns} FROM ${parquetSource(table)}`
      : `INSERT INTO ${relation} (${quoteIdent(spec.recordId!)}, ${columns}) ${numberedParquetSelect(table, localPath(table), recordIdBase, columns)}`
  const inserted = await db.run(sql)
  assertCount(plan, spec, inserted, table.rows)
  return inserted
}

function assertCount(plan: LoadPlan, spec: TableSpec, copied: number, expected: number): void {
  if (copied !== expected) {
    throw new WarehouseLoadError(
      `Cannot load run ${plan.runId}: "${spec.name}" holds ${copied} rows but its manifest says ${expected}. The processed file is damaged; transform the run again.`,
      { context: { runId: plan.runId, table: spec.name } },
    )
  }
}
