/**
 * A first load on two connections (postgres-first-load.ts) against the
 * normal load on one: the same processed run, loaded into two fresh
 * warehouses, must give identical warehouses: every table and view row for
 * row (record ids and held rows included), every constraint (definition and
 * whether it is validated), index, view definition, sequence position and
 * grant, and the ledger. Then the next load (which releases the held facts)
 * must keep them identical.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { listRunIds, readManifest } from '../../../src/lake/manifest.js'
import { objectUrlOf } from '../../../src/lake/object-store.js'
import { inDependencyOrder } from '../../../src/schema/table-spec.js'
import { quoteIdent, quoteLiteral } from '../../../src/sql/quote.js'
import { firstLoadSchemaName } from '../../../src/warehouse/postgres/postgres-first-load.js'
import { PostgresWarehouse } from '../../../src/warehouse/postgres/postgres-warehouse.js'
import type { LoadPlan, LoadTable } from '../../../src/warehouse/warehouse.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

/** Runs `sql` on `url` with a short-lived client. */
async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(sql)).rows
  } finally {
    await client.end()
  }
}

/** Everything a reader or the next load could tell apart, as sorted text, per kind of thing. */
async function snapshot(url: string): Promise<Record<string, string[]>> {
  const texts = async (sql: string) => (await query<{ r: string }>(url, sql)).map((row) => row.r)
  const state: Record<string, string[]> = {
    schemas: await texts("SELECT nspname AS r FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1"),
    constraints: await texts(
      "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' validated=' || convalidated AS r FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
    ),
    indexes: await texts("SELECT indexdef AS r FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"),
    views: await texts("SELECT viewname || ': ' || definition AS r FROM pg_views WHERE schemaname = 'public' ORDER BY 1"),
    sequences: await texts("SELECT sequencename || ' ' || coalesce(last_value::text, 'null') AS r FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"),
    grants: await texts("SELECT relname || ' ' || coalesce(relacl::text, '') AS r FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v') ORDER BY 1"),
    defaults: await texts(
      "SELECT table_name || '.' || column_name || ' ' || coalesce(column_default, '') || ' ' || is_nullable || ' ' || data_type AS r FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    ),
  }
  const relations = await texts("SELECT table_name AS r FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
  for (const name of relations) {
    // The ledger's load times differ between two loads; everything else must not.
    const sql =
      name === '_starline_loads'
        ? 'SELECT (run_id, dataset, manifest_sha256, rows, status)::text AS r FROM _starline_loads ORDER BY 1'
        : `SELECT t::text AS r FROM public.${quoteIdent(name)} t ORDER BY 1`
    state[`rows of ${name}`] = await texts(sql)
  }
  return state
}

/** The processed run of `pipeline` as the load stage plans it; `staff` replaces dim_staff's file (a late dimension). */
async function planOf(pipeline: Pipeline, scratch: string, runId: string, options: { staff?: { path: string; rows: number }; only?: string } = {}): Promise<LoadPlan> {
  const specs = pipeline.ctx.dataset.models.map((m) => m.table)
  const { manifest, sha256 } = await readManifest(pipeline.ctx.processed, (await listRunIds(pipeline.ctx.processed))[0]!, 'transform')
  const tables: LoadTable[] = []
  for (const spec of inDependencyOrder(specs)) {
    const entry = manifest.tables.find((t) => t.table === spec.name)
    if (!entry || (options.only !== undefined && spec.name !== options.only)) continue
    const path = await pipeline.ctx.processed.localPath(entry.key, scratch)
    const replaced = spec.name === 'dim_staff' ? options.staff : undefined
    tables.push({
      spec,
      rows: replaced?.rows ?? entry.rows,
      key: entry.key,
      objectUrl: objectUrlOf(pipeline.ctx.processed, entry.key),
      path: replaced?.path ?? path,
      // As the load stage passes it: the order the fact file's rows lie in.
      ...(entry.orderedBy !== undefined && spec.kind === 'fact' ? { orderedBy: entry.orderedBy } : {}),
    })
  }
  return { schema: 'public', dataset: pipeline.ctx.dataset.name, runId, manifestSha256: sha256, tables, facts: specs.filter((s) => s.kind === 'fact') }
}

/** dim_staff without every third member of staff: their facts wait in the held tables. */
async function staffWithoutSome(path: string, scratch: string): Promise<{ path: string; rows: number }> {
  const db = await openDuckDb({ scratchDir: scratch })
  try {
    const out = join(scratch, 'dim_staff_partial.parquet')
    await db.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(path)}) WHERE staff_id % 3 <> 0) TO ${quoteLiteral(out)} (FORMAT parquet)`)
    const [row] = await db.all<{ n: string }>(`SELECT count(*) AS n FROM read_parquet(${quoteLiteral(out)})`)
    return { path: out, rows: Number(row!.n) }
  } finally {
    db.close()
  }
}

const tableOid = async (url: string, table: string) => (await query<{ oid: string }>(url, `SELECT ${quoteLiteral(`public.${table}`)}::regclass::oid::text AS oid`))[0]!.oid

for (const scale of [0.02, 0.3]) {
  describe(`a first load at scale ${scale} on two connections`, () => {
    it('leaves the warehouse the one-connection load leaves, and so does the next load', async () => {
      const pipeline = await fixture.pipeline({ scale })
      await pipeline.cycle()
      const scratch = await mkdtemp(join(tmpdir(), 'starline-first-load-'))
      const specs = pipeline.ctx.dataset.models.map((m) => m.table)
      const urls = { twoConnections: await fixture.server.createDatabase(`first_two_${Math.round(scale * 100)}`), oneConnection: await fixture.server.createDatabase(`first_one_${Math.round(scale * 100)}`) }
      try {
        const full = await planOf(pipeline, scratch, '20990101T000000000Z')
        const staff = full.tables.find((t) => t.spec.name === 'dim_staff')!
        const first = await planOf(pipeline, scratch, '20990101T000000000Z', { staff: await staffWithoutSome(staff.path!, scratch) })
        const second = await planOf(pipeline, scratch, '20990102T000000000Z', { only: 'dim_staff' })
        const results = []
        const oidsBefore: Record<string, string> = {}
        for (const [name, url] of Object.entries(urls)) {
          const warehouse = new PostgresWarehouse({ url, firstLoads: name === 'twoConnections' })
          try {
            await warehouse.ensureTables('public', specs)
            // Readers' grants survive the swap.
            await query(url, `DO $$ BEGIN CREATE ROLE starline_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
            await query(url, 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO starline_reader')
            oidsBefore[name] = await tableOid(url, 'fact_sales_order')
            results.push(await warehouse.loadRun(first))
          } finally {
            await warehouse.close()
          }
        }
        assert.deepEqual(results[0], results[1], 'both loads report the same tables')
        assert.ok(results[0]!.tables.some((t) => t.held > 0), `some facts wait for their staff: ${JSON.stringify(results[0]!.tables)}`)
        // The two-connection load built new tables and swapped them in; the one-connection load filled the old ones.
        assert.notEqual(await tableOid(urls.twoConnections, 'fact_sales_order'), oidsBefore.twoConnections)
        assert.equal(await tableOid(urls.oneConnection, 'fact_sales_order'), oidsBefore.oneConnection)
        const [afterFirstTwo, afterFirstOne] = [await snapshot(urls.twoConnections), await snapshot(urls.oneConnection)]
        assert.ok(afterFirstOne.grants!.every((g) => g.includes('starline_reader=r/')), 'the reader may read every table')
        assert.deepEqual(afterFirstTwo, afterFirstOne)

        for (const url of Object.values(urls)) {
          const warehouse = new PostgresWarehouse({ url })
          try {
            const released = await warehouse.loadRun(second)
            assert.ok(released.tables.some((t) => t.table.startsWith('fact_') && t.inserted > 0), 'the held facts are released')
          } finally {
            await warehouse.close()
          }
        }
        assert.deepEqual(await snapshot(urls.twoConnections), await snapshot(urls.oneConnection))
      } finally {
        await rm(scratch, { recursive: true, force: true })
      }
    })
  })
}

interface FreshWarehouse {
  readonly pipeline: Pipeline
  readonly url: string
  readonly scratch: string
  readonly warehouse: PostgresWarehouse
}

/**
 * A pipeline at `scale` after one cycle and a fresh warehouse database
 * `name` holding starline's empty tables; `prepare` runs on the database
 * before the warehouse opens a connection (settings apply to new sessions).
 */
async function withFreshWarehouse(
  name: string,
  scale: number,
  work: (fresh: FreshWarehouse) => Promise<void>,
  prepare?: (url: string) => Promise<unknown>,
): Promise<void> {
  const pipeline = await fixture.pipeline({ scale })
  await pipeline.cycle()
  const url = await fixture.server.createDatabase(name)
  await prepare?.(url)
  const scratch = await mkdtemp(join(tmpdir(), 'starline-first-load-'))
  const warehouse = new PostgresWarehouse({ url })
  try {
    await warehouse.ensureTables('public', pipeline.ctx.dataset.models.map((m) => m.table))
    await work({ pipeline, url, scratch, warehouse })
  } finally {
    await warehouse.close()
    await rm(scratch, { recursive: true, force: true })
  }
}

describe('a first load on PostgreSQL, in an awkward warehouse', () => {
  it('removes the side schema a killed first load left, in the next first load and in ensureTables', async () => {
    await withFreshWarehouse('first_leftover', 0.02, async ({ pipeline, url, scratch, warehouse }) => {
      const side = quoteIdent(firstLoadSchemaName('public'))
      const leaveSideSchema = () => query(url, `CREATE SCHEMA ${side}; CREATE TABLE ${side}.dim_staff (staff_id integer); INSERT INTO ${side}.dim_staff VALUES (1)`)
      const sideSchemas = () => query(url, `SELECT nspname FROM pg_namespace WHERE nspname = ${quoteLiteral(firstLoadSchemaName('public'))}`)
      const specs = pipeline.ctx.dataset.models.map((m) => m.table)
      await leaveSideSchema()
      await warehouse.loadRun(await planOf(pipeline, scratch, '20990101T000000000Z'))
      assert.deepEqual(await sideSchemas(), [])
      const [mine, theirs] = [await snapshot(url), await snapshot(pipeline.warehouseUrl)]
      for (const spec of specs) assert.deepEqual(mine[`rows of ${spec.name}`], theirs[`rows of ${spec.name}`], spec.name)
      await leaveSideSchema()
      await warehouse.ensureTables('public', specs)
      assert.deepEqual(await sideSchemas(), [])
    })
  })

  it('fails naming the table, leaving the warehouse empty and no side schema, when a dimension repeats a key', async () => {
    await withFreshWarehouse('first_duplicate_key', 0.02, async ({ pipeline, url, scratch, warehouse }) => {
      const plan = await planOf(pipeline, scratch, '20990101T000000000Z')
      const staff = plan.tables.find((t) => t.spec.name === 'dim_staff')!
      const doubled = join(scratch, 'dim_staff_doubled.parquet')
      const db = await openDuckDb({ scratchDir: scratch })
      try {
        await db.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(staff.path!)}) UNION ALL (SELECT * FROM read_parquet(${quoteLiteral(staff.path!)}) LIMIT 1)) TO ${quoteLiteral(doubled)} (FORMAT parquet)`)
      } finally {
        db.close()
      }
      const broken = { ...plan, tables: plan.tables.map((t) => (t === staff ? { ...t, path: doubled, rows: t.rows + 1 } : t)) }
      await assert.rejects(warehouse.loadRun(broken), (error: Error & { retryable?: boolean }) => {
        assert.match(error.message, /Cannot load run 20990101T000000000Z into "dim_staff"/)
        assert.equal(error.retryable, false)
        return true
      })
      assert.deepEqual(await query(url, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'starline\\_%'`), [])
      assert.deepEqual(await query(url, 'SELECT 1 FROM public.dim_staff UNION ALL SELECT 1 FROM public._starline_loads'), [])
    })
  })

  it('loads on one connection, keeping the tables, when a view of someone else depends on them', async () => {
    await withFreshWarehouse('first_dependent_view', 0.02, async ({ pipeline, url, scratch, warehouse }) => {
      await query(url, 'CREATE VIEW public.orders_per_staff AS SELECT sales_staff_id, count(*) AS orders FROM public.fact_sales_order GROUP BY 1')
      const before = await tableOid(url, 'fact_sales_order')
      const result = await warehouse.loadRun(await planOf(pipeline, scratch, '20990101T000000000Z'))
      assert.equal(result.status, 'loaded')
      assert.equal(await tableOid(url, 'fact_sales_order'), before, 'the tables the view depends on stay')
      const [views] = await query<{ n: string }>(url, 'SELECT sum(orders)::text AS n FROM public.orders_per_staff')
      const [facts] = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM public.fact_sales_order')
      assert.equal(views!.n, facts!.n)
      assert.ok(Number(facts!.n) > 0)
      assert.deepEqual(await query(url, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'starline\\_%'`), [])
    })
  })

  it('loads on one connection, keeping what was made by hand, when the empty tables carry a comment or an index of their own', async () => {
    await withFreshWarehouse('first_hand_made', 0.02, async ({ pipeline, url, scratch, warehouse }) => {
      await query(url, "COMMENT ON TABLE public.dim_design IS 'designs, by hand'")
      await query(url, 'CREATE INDEX by_hand ON public.fact_payment (payment_date)')
      const before = await tableOid(url, 'fact_payment')
      const result = await warehouse.loadRun(await planOf(pipeline, scratch, '20990101T000000000Z'))
      assert.equal(result.status, 'loaded')
      assert.equal(await tableOid(url, 'fact_payment'), before, 'the tables stay: a swap would lose the comment and the index')
      assert.deepEqual(await query(url, "SELECT obj_description('public.dim_design'::regclass) AS c"), [{ c: 'designs, by hand' }])
      assert.deepEqual(await query(url, "SELECT indexname FROM pg_indexes WHERE indexname = 'by_hand'"), [{ indexname: 'by_hand' }])
      const [facts] = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM public.fact_payment')
      assert.ok(Number(facts!.n) > 0)
      assert.deepEqual(await query(url, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'starline\\_%'`), [])
    })
  })

  it('swaps in under a server that ends sessions idle in a transaction after 100 ms', async () => {
    const timeoutSessions = (url: string) =>
      query(url, `ALTER DATABASE ${quoteIdent(decodeURIComponent(new URL(url).pathname.slice(1)))} SET idle_in_transaction_session_timeout = '100ms'`)
    await withFreshWarehouse(
      'first_idle_timeout',
      0.3,
      async ({ pipeline, url, scratch, warehouse }) => {
        const before = await tableOid(url, 'fact_payment')
        const result = await warehouse.loadRun(await planOf(pipeline, scratch, '20990101T000000000Z'))
        assert.equal(result.status, 'loaded')
        assert.notEqual(await tableOid(url, 'fact_payment'), before, 'the first load swapped its tables in')
        const [facts] = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM public.fact_payment')
        assert.ok(Number(facts!.n) > 0)
      },
      timeoutSessions,
    )
  })
})
