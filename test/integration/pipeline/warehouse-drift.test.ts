/**
 * Warehouse drift: a warehouse tampered with behind starline's back (a table,
 * a key, rows, the held rows or the ledger gone) is refused before anything
 * is loaded, with a message that names the table, what differs and
 * `starline rebuild`; nothing changes on refusal. `starline rebuild` then
 * converges to one clean load of the whole lake, row for row (record ids and
 * held rows included), on PostgreSQL and DuckDB; a rebuild killed (SIGKILL)
 * midway leaves the old warehouse as it was.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { listRunIds } from '../../../src/lake/manifest.js'
import { load } from '../../../src/pipeline/load.js'
import { buildSchemaName, rebuild } from '../../../src/pipeline/rebuild.js'
import { openConfiguredWarehouse } from '../../../src/runtime/pipeline-setup.js'
import { currentViewName, heldTableName, tableColumns, type TableSpec } from '../../../src/schema/table-spec.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js'
import { WarehouseDriftError } from '../../../src/warehouse/drift.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE, type Warehouse } from '../../../src/warehouse/warehouse.js'
import { runCli, startCli } from '../../support/cli-process.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
let scratch: string
let pipeline: Pipeline
let specs: TableSpec[]
const RUNS = 3

/** A relation's rows as text, or 'missing'; keyed by name. Constraints are listed under '#keys'. */
type State = Record<string, (string | null)[][] | 'missing'>
type Relation = readonly [name: string, columns: readonly string[], orderBy: readonly string[]]

function relations(): Relation[] {
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
  all.push([LEDGER_TABLES_TABLE, ['run_id', 'table_name', 'rows', 'inserted', 'updated', 'held', 'last_record_id'], ['run_id', 'table_name']])
  return all
}

function selectAsText([name, columns, orderBy]: Relation, text: string): string {
  return `SELECT ${columns.map((c, i) => `${quoteIdent(c)}::${text} AS c${i}`).join(', ')} FROM ${qualify('public', name)} ORDER BY ${orderBy.map(quoteIdent).join(', ')}`
}

async function postgresState(): Promise<State> {
  const client = new pg.Client({ connectionString: pipeline.warehouseUrl })
  await client.connect()
  try {
    const state: State = {}
    for (const relation of relations()) {
      const present = (await client.query('SELECT to_regclass($1) AS t', [qualify('public', relation[0])])).rows[0]?.t
      state[relation[0]] = present ? (await client.query<(string | null)[]>({ text: selectAsText(relation, 'text'), rowMode: 'array' })).rows : 'missing'
    }
    const keys = await client.query<(string | null)[]>({
      text: `SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
      rowMode: 'array',
    })
    state['#keys'] = keys.rows
    return state
  } finally {
    await client.end()
  }
}

async function duckDbState(path: string): Promise<State> {
  const db = await openDuckDb({ path, scratchDir: scratch })
  try {
    const state: State = {}
    const present = new Set((await db.all<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'")).map((r) => r.t))
    for (const relation of relations()) {
      if (!present.has(relation[0])) {
        state[relation[0]] = 'missing'
        continue
      }
      const rows = await db.all<Record<string, string | null>>(selectAsText(relation, 'VARCHAR'))
      state[relation[0]] = rows.map((row) => relation[1].map((_, i) => row[`c${i}`] ?? null))
    }
    return state
  } finally {
    db.close()
  }
}

/** Loading refuses with one message naming the table and `starline rebuild`, and changes nothing. */
async function assertRefused(warehouse: Warehouse, state: () => Promise<State>, message: RegExp): Promise<void> {
  const before = await state()
  await assert.rejects(load(pipeline.ctx, { warehouse, schema: 'public' }), (error: Error) => {
    assert.ok(error instanceof WarehouseDriftError, `a drift error, not: ${error.message}`)
    assert.match(error.message, message)
    assert.match(error.message, /Nothing was loaded\. Run `starline rebuild`/)
    assert.doesNotMatch(error.message, /\n/)
    return true
  })
  assert.deepEqual(await state(), before, 'nothing changed on refusal')
}

/** `starline rebuild` (the pipeline function) ends in the clean state, and the check then finds nothing. */
async function assertRebuilt(warehouse: Warehouse, state: () => Promise<State>, expected: State): Promise<void> {
  const summary = await rebuild(pipeline.ctx, { warehouse, schema: 'public' })
  assert.equal(summary.runs, RUNS)
  assert.deepEqual(await state(), expected)
  assert.deepEqual(await warehouse.checkAgainstLedger('public', specs), [])
}

const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES ($1, 1, 1, $2, 2.50, 1, $3, '2024-11-21', 1, $4, $4) RETURNING sales_order_id`

before(async () => {
  await fixture.start()
  scratch = await mkdtemp(join(tmpdir(), 'starline-drift-'))
  pipeline = await fixture.pipeline({ scale: 0.1 })
  specs = pipeline.ctx.dataset.models.map((m) => m.table)
  // Three runs: the history with a sales order held for a late design, updates, then more orders.
  await pipeline.source(
    "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour')",
  )
  const [late] = await pipeline.source<{ design_id: number }>("SELECT max(design_id) AS design_id FROM design WHERE design_name = 'late'")
  await pipeline.source(ORDER, [late!.design_id, 4321, '2024-11-22', '2024-11-18 11:00:00'])
  await pipeline.cycle()
  const now = 'clock_timestamp()::timestamp(3)'
  await pipeline.source(`UPDATE staff SET last_name = last_name || '-Smith', last_updated = ${now} WHERE staff_id IN (1, 2)`)
  await pipeline.source(`UPDATE sales_order SET units_sold = 22222, last_updated = ${now} WHERE sales_order_id = 2`)
  await pipeline.cycle()
  await pipeline.source(`UPDATE sales_order SET units_sold = 33333, last_updated = ${now} WHERE sales_order_id IN (3, 4)`)
  await pipeline.cycle()
  assert.equal((await listRunIds(pipeline.ctx.processed)).length, RUNS)
})
after(async () => {
  await fixture.stop()
  await rm(scratch, { recursive: true, force: true })
})

describe('warehouse drift on PostgreSQL', () => {
  let warehouse: Warehouse
  let expected: State
  const state = () => postgresState()
  const sql = (text: string) => pipeline.warehouse(text)

  before(async () => {
    warehouse = await openConfiguredWarehouse(pipeline.config)
    expected = await state()
    assert.ok(Array.isArray(expected[heldTableName(specs.find((s) => s.name === 'fact_sales_order')!)]) && expected._starline_held_fact_sales_order!.length === 1, 'one sales order is held')
    assert.ok((expected.fact_sales_order as unknown[]).length > 100, 'the facts hold a real volume')
    assert.deepEqual(await warehouse.checkAgainstLedger('public', specs), [], 'a clean warehouse has no drift')
  })
  after(() => warehouse.close())

  it('refuses a load after a dimension is dropped, and a rebuild restores it with its foreign keys', async () => {
    await sql('DROP TABLE dim_staff CASCADE')
    await assertRefused(warehouse, state, /"dim_staff" is missing; the ledger vouches for \d+ rows in it; "fact_sales_order" has lost its foreign key \(sales_staff_id\) references "dim_staff"/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after a fact table is dropped, then rebuilds it with the same record ids', async () => {
    await sql('DROP TABLE fact_sales_order CASCADE')
    await assertRefused(warehouse, state, /"fact_sales_order" is missing; the ledger vouches for \d+ rows in it/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after fact rows are deleted (their record ids would be reused)', async () => {
    await sql('DELETE FROM fact_payment WHERE payment_record_id IN (SELECT max(payment_record_id) FROM fact_payment UNION SELECT 1)')
    const [{ max, n }] = (await pipeline.warehouse<{ max: string; n: string }>('SELECT max(payment_record_id)::text AS max, count(*)::text AS n FROM fact_payment')) as [{ max: string; n: string }]
    await assertRefused(warehouse, state, new RegExp(`"fact_payment" holds ${n} rows; the ledger vouches for ${Number(n) + 2}; "fact_payment" has newest record id ${max}; the ledger recorded ${Number(max) + 1}`))
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after the held table is dropped (its waiting facts would be lost)', async () => {
    await sql('DROP TABLE _starline_held_fact_sales_order')
    await assertRefused(warehouse, state, /"_starline_held_fact_sales_order" is missing; the ledger vouches for 1 held rows in it/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after a foreign key is dropped', async () => {
    const [key] = await pipeline.warehouse<{ name: string }>(
      "SELECT conname AS name FROM pg_constraint WHERE conrelid = 'fact_purchase_order'::regclass AND contype = 'f' ORDER BY conname LIMIT 1",
    )
    await sql(`ALTER TABLE fact_purchase_order DROP CONSTRAINT ${quoteIdent(key!.name)}`)
    await assertRefused(warehouse, state, /"fact_purchase_order" has lost its foreign key \(\w+\) references "dim_\w+"/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after the ledger is emptied (every fact would load again)', async () => {
    await sql(`DELETE FROM ${LEDGER_TABLES_TABLE}; DELETE FROM ${LEDGER_TABLE}`)
    await assertRefused(warehouse, state, /"_starline_loads" lists no runs, but tables hold rows it does not vouch for \(.*"fact_sales_order" \d+.*\)/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after the ledger tables are dropped', async () => {
    await sql(`DROP TABLE ${LEDGER_TABLES_TABLE}; DROP TABLE ${LEDGER_TABLE}`)
    await assertRefused(warehouse, state, /"_starline_loads" is missing, but tables hold rows it does not vouch for \(.*"fact_payment" \d+.*\)/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('keeps the privileges granted on the old tables and views through a rebuild', async () => {
    await sql('CREATE ROLE starline_drift_reader')
    await sql('GRANT SELECT ON dim_staff, fact_sales_order_current TO starline_drift_reader')
    await sql('DELETE FROM fact_payment WHERE payment_record_id = 5')
    await assertRefused(warehouse, state, /"fact_payment" holds \d+ rows; the ledger vouches for \d+/)
    await assertRebuilt(warehouse, state, expected)
    const [granted] = await pipeline.warehouse<{ staff: boolean; current: boolean; sales: boolean }>(
      `SELECT has_table_privilege('starline_drift_reader', 'dim_staff', 'SELECT') AS staff,
              has_table_privilege('starline_drift_reader', 'fact_sales_order_current', 'SELECT') AS current,
              has_table_privilege('starline_drift_reader', 'fact_sales_order', 'SELECT') AS sales`,
    )
    assert.deepEqual(granted, { staff: true, current: true, sales: false })
  })

  it('leaves the old warehouse when `starline rebuild` is killed midway, asks before rebuilding, then converges', async () => {
    const env = {
      STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
    }
    await sql('DELETE FROM fact_sales_order WHERE sales_record_id = 1')
    const tampered = await state()
    const refused = await runCli(['load'], env)
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr, /^starline: The warehouse schema "public" is not what its ledger vouches for: "fact_sales_order" holds \d+ rows; .*`starline rebuild`.*\n$/)
    const planned = await runCli(['load', '--dry-run'], env)
    assert.equal(planned.code, 1, planned.stderr)
    assert.match(planned.stderr, /"fact_sales_order" holds \d+ rows; .*`starline rebuild`/, 'a dry run refuses what the load refuses')

    const unasked = await runCli(['rebuild'], env)
    assert.equal(unasked.code, 2, unasked.stderr)
    assert.match(unasked.stderr, /rebuild would load all 3 processed runs .* run again with --yes/)
    const dryRun = await runCli(['rebuild', '--dry-run', '--json'], env)
    assert.equal(dryRun.code, 0, dryRun.stderr)
    const plan = JSON.parse(dryRun.stdout) as { runs: number; drift: { table: string }[] }
    assert.equal(plan.runs, RUNS)
    assert.deepEqual(plan.drift.map((f) => f.table), ['fact_sales_order'], 'the dry run names the drift')
    assert.deepEqual(await state(), tampered, 'neither changed anything')

    const build = buildSchemaName('public')
    const { child, done } = startCli(['rebuild', '--yes'], env)
    const deadline = Date.now() + 120_000
    for (;;) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the rebuild to load a run')
      const [row] = await pipeline.warehouse<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualify(build, LEDGER_TABLE)])
      if (row?.t && Number((await pipeline.warehouse<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualify(build, LEDGER_TABLE)}`))[0]!.n) > 0) break
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    child.kill('SIGKILL')
    const killed = await done
    assert.equal(killed.signal, 'SIGKILL', `the rebuild was killed before it finished: ${killed.stderr}`)
    assert.deepEqual(await state(), tampered, 'the old warehouse is intact')

    const rebuilt = await runCli(['rebuild', '--yes'], env)
    assert.equal(rebuilt.code, 0, rebuilt.stderr)
    assert.match(rebuilt.stdout, /rebuild: loaded 3 runs/)
    assert.deepEqual(await state(), expected)
    const [left] = await pipeline.warehouse<{ t: string | null }>('SELECT to_regnamespace($1)::text AS t', [build])
    assert.equal(left?.t, null, 'the build schema is gone')
    const loaded = await runCli(['load'], env)
    assert.equal(loaded.code, 0, loaded.stderr)
  })
})

describe('warehouse drift on DuckDB', () => {
  let warehouse: DuckDbWarehouse
  let path: string
  let expected: State
  const state = () => duckDbState(path)
  const sql = async (text: string) => {
    const db = await openDuckDb({ path, scratchDir: scratch })
    try {
      await db.run(`SET schema = 'public'; ${text}`)
    } finally {
      db.close()
    }
  }

  before(async () => {
    path = join(scratch, 'drift.duckdb')
    warehouse = new DuckDbWarehouse({ path, scratchDir: scratch })
    await load(pipeline.ctx, { warehouse, schema: 'public' })
    expected = await state()
    const { '#keys': _keys, ...postgres } = await postgresState()
    assert.deepEqual(expected, postgres, 'DuckDB loads what PostgreSQL holds')
    assert.deepEqual(await warehouse.checkAgainstLedger('public', specs), [])
  })
  after(() => warehouse.close())

  it('refuses a load after a fact table is dropped, then rebuilds it', async () => {
    await sql('DROP VIEW fact_payment_current; DROP TABLE fact_payment')
    await assertRefused(warehouse, state, /"fact_payment" is missing; the ledger vouches for \d+ rows in it/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after fact rows are deleted', async () => {
    await sql('DELETE FROM fact_sales_order WHERE sales_record_id = (SELECT max(sales_record_id) FROM fact_sales_order)')
    await assertRefused(warehouse, state, /"fact_sales_order" holds \d+ rows; the ledger vouches for \d+; "fact_sales_order" has newest record id \d+; the ledger recorded \d+/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after the held table is dropped', async () => {
    await sql('DROP TABLE _starline_held_fact_sales_order')
    await assertRefused(warehouse, state, /"_starline_held_fact_sales_order" is missing; the ledger vouches for 1 held rows in it/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after a current view is dropped', async () => {
    await sql('DROP VIEW fact_sales_order_current')
    await assertRefused(warehouse, state, /"fact_sales_order_current" is missing/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after a dimension is dropped with the facts that reference it', async () => {
    await sql('DROP VIEW fact_payment_current; DROP TABLE fact_payment; DROP TABLE dim_payment_type')
    await assertRefused(warehouse, state, /"dim_payment_type" is missing; the ledger vouches for \d+ rows in it/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('refuses a load after the ledger is emptied', async () => {
    await sql(`DELETE FROM ${LEDGER_TABLES_TABLE}; DELETE FROM ${LEDGER_TABLE}`)
    await assertRefused(warehouse, state, /"_starline_loads" lists no runs, but tables hold rows it does not vouch for \(.*"fact_sales_order" \d+.*\)/)
    await assertRebuilt(warehouse, state, expected)
  })

  it('leaves the old warehouse when `starline rebuild` is killed midway, then converges', async () => {
    const scratchDir = await mkdtemp(join(scratch, 'cli-'))
    const env = {
      STARLINE_WAREHOUSE_URL: `duckdb://${path}`,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      STARLINE_SCRATCH_DIR: scratchDir,
    }
    await sql('DELETE FROM fact_payment WHERE payment_record_id = 1')
    const tampered = await state()
    const second = (await listRunIds(pipeline.ctx.processed))[1]!
    const { child, done } = startCli(['rebuild', '--yes'], env)
    // The load makes a scratch folder per run right before its transaction: the second's means the first committed into the build schema.
    const deadline = Date.now() + 120_000
    while (!readdirSync(scratchDir).some((name) => name.startsWith(`load-${second}-`))) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the rebuild to load a run')
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    child.kill('SIGKILL')
    const killed = await done
    assert.equal(killed.signal, 'SIGKILL', `the rebuild was killed before it finished: ${killed.stderr}`)
    assert.deepEqual(await state(), tampered, 'the old warehouse is intact')

    const rebuilt = await runCli(['rebuild', '--yes'], env)
    assert.equal(rebuilt.code, 0, rebuilt.stderr)
    assert.deepEqual(await state(), expected)
    assert.deepEqual(await warehouse.checkAgainstLedger('public', specs), [])
  })
})
