/**
 * The ToteSys pipeline into DuckDB ends in the state it ends in PostgreSQL:
 * the same processed lake (three runs: the full history with a fact held
 * for a late dimension row, then updates and another held fact, then the
 * release) is loaded into a PostgreSQL warehouse and a DuckDB file, and every
 * star table, held table, current view and ledger row is compared as text,
 * row for row. Then a `starline load` into DuckDB is killed midway and run
 * again, and must end in that same state.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { listRunIds } from '../../../src/lake/manifest.js'
import { load } from '../../../src/pipeline/load.js'
import { currentViewName, heldTableName, tableColumns, type TableSpec } from '../../../src/schema/table-spec.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../../../src/warehouse/warehouse.js'
import { runCli, startCli } from '../../support/cli-process.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
let scratch: string
before(async () => {
  await fixture.start()
  scratch = await mkdtemp(join(tmpdir(), 'starline-duckdb-pipeline-'))
})
after(async () => {
  await fixture.stop()
  await rm(scratch, { recursive: true, force: true })
})

const RUNS = 3
const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES ($1, 1, 1, $2, 2.50, 1, $3, '2024-11-21', 1, $4, $4) RETURNING sales_order_id`

type Snapshot = Record<string, (string | null)[][]>
/** A relation, its columns, and the order that makes its rows comparable. */
type Relation = readonly [name: string, columns: readonly string[], orderBy: readonly string[]]

/** Every relation a load writes: star tables, held tables, current views, both ledger tables (loaded_at aside). */
function relations(specs: readonly TableSpec[]): Relation[] {
  const all: Relation[] = []
  for (const spec of specs) {
    const columns = tableColumns(spec).map((c) => c.name)
    all.push([spec.name, columns, spec.recordId ? [spec.recordId] : (spec.primaryKey ?? columns)])
    if (spec.kind !== 'fact') continue
    const data = spec.columns.map((c) => c.name)
    all.push([heldTableName(spec), [...data, 'held_since_run'], [...(spec.appendOrder ?? []), ...data]])
    all.push([currentViewName(spec), columns, spec.naturalKey ?? columns])
  }
  all.push([LEDGER_TABLE, ['run_id', 'dataset', 'manifest_sha256', 'rows', 'status'], ['run_id']])
  all.push([LEDGER_TABLES_TABLE, ['run_id', 'table_name', 'rows', 'inserted', 'updated', 'held'], ['run_id', 'table_name']])
  return all
}

/** `SELECT c::<text> AS c0, ...`, aliased so ORDER BY sorts the columns, not their text. */
function selectAsText(relation: Relation, text: string): string {
  const [name, columns, orderBy] = relation
  return `SELECT ${columns.map((c, i) => `${quoteIdent(c)}::${text} AS c${i}`).join(', ')} FROM ${qualify('public', name)} ORDER BY ${orderBy.map(quoteIdent).join(', ')}`
}

async function postgresSnapshot(pipeline: Pipeline): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: pipeline.warehouseUrl })
  await client.connect()
  try {
    const snapshot: Snapshot = {}
    for (const relation of relations(pipeline.ctx.dataset.models.map((m) => m.table))) {
      snapshot[relation[0]] = (await client.query<(string | null)[]>({ text: selectAsText(relation, 'text'), rowMode: 'array' })).rows
    }
    return snapshot
  } finally {
    await client.end()
  }
}

async function duckDbSnapshot(pipeline: Pipeline, path: string): Promise<Snapshot> {
  const db = await openDuckDb({ path, scratchDir: scratch })
  try {
    const snapshot: Snapshot = {}
    for (const relation of relations(pipeline.ctx.dataset.models.map((m) => m.table))) {
      const rows = await db.all<Record<string, string | null>>(selectAsText(relation, 'VARCHAR'))
      snapshot[relation[0]] = rows.map((row) => relation[1].map((_, i) => row[`c${i}`] ?? null))
    }
    return snapshot
  } finally {
    db.close()
  }
}

/** Every relation equal, named in the failure; and not trivially (the facts hold rows). */
function assertSameState(actual: Snapshot, expected: Snapshot): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected))
  for (const name of Object.keys(expected)) assert.deepEqual(actual[name], expected[name], `"${name}" differs from PostgreSQL`)
  assert.ok((expected.fact_sales_order?.length ?? 0) > 1000, 'the comparison covers a real volume of facts')
  assert.equal(expected[LEDGER_TABLE]?.length, RUNS, 'every run is in the ledger')
}

describe('ToteSys pipeline into DuckDB', () => {
  let pipeline: Pipeline
  let expected: Snapshot

  before(async () => {
    pipeline = await fixture.pipeline({ scale: 1 })
    // A design stamped in the future stays out of the window: its sales order is held by the bulk first load.
    const lateDesign = async () =>
      (
        await pipeline.source<{ design_id: number }>(
          "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id",
        )
      )[0]!.design_id
    const first = await lateDesign()
    await pipeline.source(ORDER, [first, 4321, '2024-11-22', '2024-11-18 11:00:00'])
    await pipeline.cycle()
    // Run 2: staff renamed (dimension updates), a new version of an order waiting for a second late
    // design (held through staging), a new version of another order (appended).
    const second = await lateDesign()
    const now = 'clock_timestamp()::timestamp(3)'
    await pipeline.source(`UPDATE staff SET last_name = last_name || '-Smith', last_updated = ${now} WHERE staff_id IN (1, 2)`)
    await pipeline.source(`UPDATE sales_order SET design_id = $1, units_sold = 11111, last_updated = ${now} WHERE sales_order_id = 1`, [second])
    await pipeline.source(`UPDATE sales_order SET units_sold = 22222, last_updated = ${now} WHERE sales_order_id = 2`)
    await pipeline.cycle()
    // Run 3: both designs arrive, and the run brings no sales orders: the held ones are released.
    await pipeline.source(`UPDATE design SET last_updated = ${now} WHERE design_id IN ($1, $2)`, [first, second])
    await pipeline.cycle()
    assert.equal((await listRunIds(pipeline.ctx.processed)).length, RUNS)
    expected = await postgresSnapshot(pipeline)
    // The history exercises every load path, or the comparison proves less than it says.
    const ledger = expected[LEDGER_TABLES_TABLE]!
    const sales = ledger.filter((row) => row[1] === 'fact_sales_order')
    // [rows, inserted, updated, held]: run 2 holds its new version and again the one held since run 1.
    assert.deepEqual(sales.map((row) => row[5]), ['1', '2', '0'], 'sales orders held by runs 1 and 2')
    assert.deepEqual(sales.at(-1)!.slice(2, 4), ['0', '2'], 'run 3 brings no sales orders and releases both')
    assert.ok(ledger.some((row) => row[1] === 'dim_staff' && row[4] === '2'), 'two staff rows updated')
  })

  it('ends equal to PostgreSQL for the same lake: every star table, held table, current view and ledger row', async () => {
    const path = join(scratch, 'same-lake.duckdb')
    const warehouse = new DuckDbWarehouse({ path, scratchDir: scratch })
    try {
      const summary = await load(pipeline.ctx, { warehouse, schema: 'public' })
      assert.equal(summary.runs.length, RUNS)
      const again = await load(pipeline.ctx, { warehouse, schema: 'public' })
      assert.equal(again.runs.length, 0, 'a second load finds every run in the ledger')
    } finally {
      await warehouse.close()
    }
    assertSameState(await duckDbSnapshot(pipeline, path), expected)
  })

  it('ends equal to PostgreSQL when `starline load` is killed midway and run again', async () => {
    const path = join(scratch, 'killed.duckdb')
    const scratchDir = await mkdtemp(join(scratch, 'cli-'))
    const env = {
      STARLINE_WAREHOUSE_URL: `duckdb://${path}`,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      STARLINE_SCRATCH_DIR: scratchDir,
    }
    const { child, done } = startCli(['load'], env)
    // The load stage makes a scratch folder per run once the tables exist, right before the run's
    // transaction. The kill waits for the file to grow past that: DuckDB is writing the run's data
    // at commit (measured: ~0.9 s into a 1 s load of run 1 at scale 1), the most delicate moment.
    const deadline = Date.now() + 120_000
    let sizeAtStart: number | undefined
    while (sizeAtStart === undefined || statSync(path).size <= sizeAtStart) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the load to write')
      if (sizeAtStart === undefined && readdirSync(scratchDir).some((name) => name.startsWith('load-'))) sizeAtStart = statSync(path).size
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    child.kill('SIGKILL')
    const killed = await done
    assert.equal(killed.signal, 'SIGKILL', `the load was killed before it finished: ${killed.stderr}`)
    assert.ok(existsSync(path), 'the kill came after the warehouse file was made')
    // The tables were made before the scratch folder: what the kill left is readable, and whole runs only.
    const left = await duckDbSnapshot(pipeline, path)
    assert.ok((left[LEDGER_TABLE]?.length ?? 0) < RUNS, 'the kill left runs unloaded')
    for (const spec of pipeline.ctx.dataset.models.map((m) => m.table)) {
      // Tables only gain rows, so a table holds exactly what its committed ledger rows say they inserted.
      const inserted = left[LEDGER_TABLES_TABLE]!.filter((row) => row[1] === spec.name).reduce((sum, row) => sum + Number(row[3]), 0)
      assert.equal(left[spec.name]?.length, inserted, `"${spec.name}" holds exactly the committed runs' rows`)
    }

    const rerun = await runCli(['load'], env)
    assert.equal(rerun.code, 0, rerun.stderr)
    assertSameState(await duckDbSnapshot(pipeline, path), expected)
  })
})
