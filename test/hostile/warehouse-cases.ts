/**
 * Warehouse tampering: the ledger emptied or edited, keys and views dropped,
 * tables added or wiped, rows edited by hand. What would load a fact twice
 * is refused; what the loader owns it puts back; what needs a rebuild from
 * the lake waits for `starline rebuild` (todo until it lands).
 */
import { rebuild } from '../../src/pipeline/rebuild.js'
import { loadOptions, openConfiguredWarehouse } from '../../src/runtime/pipeline-setup.js'
import type { CaseContext, HostileCase } from './hostile-case.js'

const DRIFT = /The warehouse schema "public" is not what its ledger vouches for: .*Nothing was loaded\. Run `starline rebuild` to reload the warehouse from the lake/

/** The documented recovery: `starline rebuild` reloads the warehouse from the lake. */
async function rebuildFromLake(ctx: CaseContext): Promise<void> {
  const warehouse = await openConfiguredWarehouse(ctx.pipeline.config)
  try {
    await rebuild(ctx.pipeline.ctx, { ...loadOptions(ctx.pipeline.config, warehouse), dryRun: false })
  } finally {
    await warehouse.close()
  }
}

const LEDGER = ['_starline_loads', '_starline_load_tables'] as const
const STAMP = "'2024-11-19 09:00:00'"

/** Copies the ledger aside (the operator's backup) so the fix can restore it. */
async function backUpLedger(ctx: CaseContext): Promise<void> {
  for (const table of LEDGER) await ctx.pipeline.warehouse(`CREATE TABLE backup${table} AS TABLE ${table}`)
}

async function restoreLedger(ctx: CaseContext): Promise<void> {
  for (const table of [...LEDGER].reverse()) await ctx.pipeline.warehouse(`DELETE FROM ${table}`)
  for (const table of LEDGER) await ctx.pipeline.warehouse(`INSERT INTO ${table} SELECT * FROM backup${table}`)
}

const sql = (...statements: string[]) => async (ctx: CaseContext) => {
  for (const statement of statements) await ctx.pipeline.warehouse(statement)
}

const touchSource = async (ctx: CaseContext) => {
  await ctx.pipeline.source(`UPDATE sales_order SET units_sold = units_sold + 1, last_updated = ${STAMP} WHERE sales_order_id <= 3`)
}

function drift(id: string, does: string, statements: string[]): HostileCase {
  return {
    id: `warehouse-${id}`,
    category: 'warehouse tampering',
    does,
    expect: 'refused',
    act: sql(...statements),
    stage: 'load',
    refusal: { message: DRIFT },
    fix: rebuildFromLake,
  }
}

export const WAREHOUSE_CASES: readonly HostileCase[] = [
  {
    id: 'warehouse-ledger-emptied',
    category: 'warehouse tampering',
    does: 'empties the load ledger (every run looks unloaded)',
    expect: 'refused',
    act: async (ctx) => {
      await backUpLedger(ctx)
      await sql('DELETE FROM _starline_load_tables', 'DELETE FROM _starline_loads')(ctx)
    },
    refusal: { message: DRIFT },
    stage: 'load',
    fix: restoreLedger,
  },
  {
    id: 'warehouse-ledger-newest-run-removed',
    category: 'warehouse tampering',
    does: 'removes the newest run from the ledger (that run looks unloaded)',
    start: 'transformed',
    expect: 'refused',
    act: async (ctx) => {
      await ctx.pipeline.cycle()
      await backUpLedger(ctx)
      await sql(
        'DELETE FROM _starline_load_tables WHERE run_id = (SELECT max(run_id) FROM _starline_loads)',
        'DELETE FROM _starline_loads WHERE run_id = (SELECT max(run_id) FROM _starline_loads)',
      )(ctx)
    },
    refusal: { message: DRIFT },
    stage: 'load',
    fix: restoreLedger,
  },
  {
    id: 'warehouse-version-keys-dropped',
    category: 'warehouse tampering',
    does: 'drops the unique version keys of the facts (as an older starline made them)',
    expect: 'exact',
    act: async (ctx) => {
      const keys = await ctx.pipeline.warehouse<{ t: string; name: string }>(
        "SELECT conrelid::regclass::text AS t, conname AS name FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text LIKE 'fact_%'",
      )
      for (const key of keys) await ctx.pipeline.warehouse(`ALTER TABLE ${key.t} DROP CONSTRAINT ${key.name}`)
      await touchSource(ctx)
    },
  },
  {
    id: 'warehouse-extra-table',
    category: 'warehouse tampering',
    does: 'adds an analyst\'s own table and view to the warehouse schema',
    expect: 'exact',
    act: async (ctx) => {
      await sql('CREATE TABLE my_notes (note text)', "INSERT INTO my_notes VALUES ('hello')", 'CREATE VIEW my_sales AS SELECT * FROM fact_sales_order')(ctx)
      await touchSource(ctx)
    },
  },
  drift('current-view-dropped', 'drops the fact_sales_order_current view', ['DROP VIEW fact_sales_order_current']),
  {
    id: 'warehouse-wiped',
    category: 'warehouse tampering',
    does: 'drops every table of the warehouse schema (a new, empty warehouse on the same lake)',
    expect: 'exact',
    act: sql('DROP SCHEMA public CASCADE', 'CREATE SCHEMA public'),
  },
  {
    id: 'warehouse-dimension-row-edited',
    category: 'warehouse tampering',
    does: 'edits a dim_design row by hand, then the source changes that design',
    expect: 'exact',
    act: async (ctx) => {
      await sql("UPDATE dim_design SET design_name = 'edited by hand' WHERE design_id = 1")(ctx)
      await ctx.pipeline.source(`UPDATE design SET file_name = 'changed.json', last_updated = ${STAMP} WHERE design_id = 1`)
    },
  },
  drift('fact-rows-deleted', 'deletes fact_sales_order rows', ['DELETE FROM fact_sales_order WHERE sales_order_id <= 10']),
  drift('dimension-dropped', 'drops dim_currency with its foreign keys', ['DROP TABLE dim_currency CASCADE']),
  drift('held-table-dropped', 'drops the held-rows table of fact_sales_order', ['DROP TABLE _starline_held_fact_sales_order']),
  drift('fact-truncated', 'truncates fact_payment', ['TRUNCATE fact_payment']),
  {
    id: 'warehouse-drift-refuses-cycle-before-extract',
    category: 'warehouse tampering',
    does: 'deletes fact rows, then the source changes: the cycle refuses before extracting (the lake does not grow)',
    expect: 'refused',
    act: async (ctx) => {
      await sql('DELETE FROM fact_payment WHERE payment_id <= 3')(ctx)
      await touchSource(ctx)
    },
    stage: 'cycle',
    refusal: { message: DRIFT },
    fix: rebuildFromLake,
  },
  {
    id: 'warehouse-drift-refuses-run-before-extract',
    category: 'warehouse tampering',
    does: 'drops the held table, then the source changes: `starline run` refuses before extracting, exit status 1',
    expect: 'refused',
    act: async (ctx) => {
      await sql('DROP TABLE _starline_held_fact_sales_order')(ctx)
      await touchSource(ctx)
    },
    cli: { args: ['run'], status: 1, stderr: /^starline: The warehouse schema "public" is not what its ledger vouches for: "_starline_held_fact_sales_order" is missing/ },
    fix: rebuildFromLake,
  },
]
