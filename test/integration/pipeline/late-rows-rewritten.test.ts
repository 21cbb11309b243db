/**
 * The late-row check never wedges the load: a large-table row rewritten
 * without a new last_updated (an update that keeps the stamp, as pg_repack
 * or a reload would) has a new xmin and is re-read as late, but its version
 * is already in the fact table. The run is marked, and the load skips that
 * version (saying so) instead of refusing the run, run after run. A genuine
 * late row still appends; PostgreSQL, DuckDB and Redshift's SQL (PostgreSQL
 * standing in) end equal. A late
 * row written under a savepoint of a transaction open at the last check is
 * found too. All on a real PostgreSQL source.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { MANIFEST_PREFIX } from '../../../src/lake/keys.js'
import { readManifest } from '../../../src/lake/manifest.js'
import { extract } from '../../../src/pipeline/extract.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { formatLoad } from '../../../src/observe/summary-text.js'
import { load } from '../../../src/pipeline/load.js'
import type { LoadSummary } from '../../../src/schema/summaries.js'
import { quoteIdent } from '../../../src/sql/quote.js'
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js'
import { RedshiftWarehouse } from '../../../src/warehouse/redshift/redshift-warehouse.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'
import { copyFromLake, RedshiftStandIn, underRoot } from '../../support/redshift-stand-in.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
let scratch: string
before(async () => {
  await fixture.start()
  scratch = await mkdtemp(join(tmpdir(), 'starline-late-rewritten-'))
})
after(async () => {
  await fixture.stop()
  await rm(scratch, { recursive: true, force: true })
})

/** A sales order like the application writes, stamped `stamp` (created and last updated). */
const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 4242, 3.17, 1, '2024-11-20', '2024-11-21', 1, $1::timestamp, $1::timestamp) RETURNING sales_order_id`

function lateOrders(summary: { extract: { lateRows?: readonly { table: string; lateRows: number }[] } }): number | undefined {
  return summary.extract.lateRows?.find((t) => t.table === 'sales_order')?.lateRows
}

function alreadyHeld(summary: LoadSummary, table: string): number {
  return summary.runs.flatMap((r) => r.tables).filter((t) => t.table === table).reduce((sum, t) => sum + (t.alreadyHeld ?? 0), 0)
}

/** Every row of the fact, every column as text, in record id order. */
function factSql(pipeline: Pipeline, text: string): string {
  const spec = pipeline.ctx.dataset.models.find((m) => m.table.name === 'fact_sales_order')!.table
  const columns = [spec.recordId!, ...spec.columns.map((c) => c.name)]
  return `SELECT ${columns.map((c, i) => `${quoteIdent(c)}::${text} AS c${i}`).join(', ')} FROM public.fact_sales_order ORDER BY ${quoteIdent(spec.recordId!)}`
}

async function postgresFacts(pipeline: Pipeline): Promise<(string | null)[][]> {
  const client = new pg.Client({ connectionString: pipeline.warehouseUrl })
  await client.connect()
  try {
    return (await client.query<(string | null)[]>({ text: factSql(pipeline, 'text'), rowMode: 'array' })).rows
  } finally {
    await client.end()
  }
}

describe('late rows that are versions the warehouse already holds', () => {
  it('skips a row rewritten without a new stamp instead of refusing the load run after run, and appends a genuine late row', async () => {
    const pipeline = await fixture.pipeline({ env: { STARLINE_LATE_ROWS_INTERVAL: '0s' } })
    const first = await pipeline.cycle()
    const settled = first.extract.window!.to
    const firstProcessed = await readManifest(pipeline.ctx.processed, first.extract.runId!, 'transform')
    assert.ok(firstProcessed.manifest.tables.every((t) => t.repeatsVersions === undefined), 'a run without late rows is strict')

    // Two neighbours in one 1,024-id range, both stamped before the watermark.
    const [pair] = await pipeline.source<{ id: number }>(
      `SELECT min(sales_order_id) AS id FROM sales_order
        WHERE sales_order_id % 1024 < 1023 AND last_updated <= $1::timestamp
          AND EXISTS (SELECT 1 FROM sales_order n WHERE n.sales_order_id = sales_order.sales_order_id + 1 AND n.last_updated <= $1::timestamp)`,
      [settled],
    )
    const rewritten = pair!.id
    // Rewritten in place, the stamp kept: a new xmin, the same (id, last_updated) the warehouse holds.
    await pipeline.source('UPDATE sales_order SET design_id = design_id WHERE sales_order_id = $1', [rewritten])
    // Its neighbour is updated normally: its old version leaves the range's summary, so the range is read.
    await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = now() WHERE sales_order_id = $1", [rewritten + 1])
    const [backDated] = await pipeline.source<{ sales_order_id: number }>(ORDER, ['2024-11-05 10:11:12.345'])

    const found = await pipeline.cycle()
    assert.equal(lateOrders(found), 2, 'the rewritten row and the back-dated one are read as late')
    const processed = await readManifest(pipeline.ctx.processed, found.extract.runId!, 'transform')
    assert.equal(processed.manifest.tables.find((t) => t.table === 'fact_sales_order')?.repeatsVersions, true, 'the fact is marked')
    assert.equal(alreadyHeld(found.load, 'fact_sales_order'), 1, 'the rewritten version was already held: skipped')
    assert.match(formatLoad(found.load), /load: 1 late "fact_sales_order" rows were versions the warehouse already holds .*; skipped/)
    await assertWarehouseMatchesSource(pipeline)
    const [versions] = await pipeline.warehouse<{ rewritten: number; late: number }>(
      `SELECT count(*) FILTER (WHERE sales_order_id = $1)::int AS rewritten, count(*) FILTER (WHERE sales_order_id = $2)::int AS late FROM fact_sales_order`,
      [rewritten, backDated!.sales_order_id],
    )
    assert.deepEqual(versions, { rewritten: 1, late: 1 }, 'one version each: the rewritten one not doubled, the late one appended')

    // Not stuck: the next runs go on (the rewritten row is part of the new baseline).
    await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = now() WHERE sales_order_id = $1", [rewritten + 1])
    const next = await pipeline.cycle()
    assert.equal(lateOrders(next), 0)
    assert.equal(next.load.runs.length, 1)
    await assertWarehouseMatchesSource(pipeline)

    // The same lake into DuckDB: the same rows, the same record ids, the same skip.
    const path = join(scratch, 'rewritten.duckdb')
    const warehouse = new DuckDbWarehouse({ path, scratchDir: scratch })
    let summary: LoadSummary
    try {
      summary = await load(pipeline.ctx, { warehouse, schema: 'public' })
    } finally {
      await warehouse.close()
    }
    assert.equal(summary.runs.length, 3)
    assert.equal(alreadyHeld(summary, 'fact_sales_order'), 1)
    const db = await openDuckDb({ path, scratchDir: scratch })
    try {
      const duck = (await db.all<Record<string, string | null>>(factSql(pipeline, 'VARCHAR'))).map((row) => Object.values(row))
      const postgres = await postgresFacts(pipeline)
      assert.ok(postgres.length > 1000)
      assert.deepEqual(duck, postgres, 'DuckDB holds the rows PostgreSQL holds, with the same record ids')
    } finally {
      db.close()
    }

    // And into Redshift's SQL (PostgreSQL standing in): the anti-join skips the same version.
    const pool = new pg.Pool({ connectionString: await fixture.server.createDatabase('redshift_rewritten'), max: 2 })
    pool.on('error', () => {})
    const s3Processed = underRoot(pipeline.ctx.processed, 's3://lake-bucket/processed')
    const redshift = new RedshiftWarehouse({ iamRole: 'arn:aws:iam::123456789012:role/starline-copy', connection: { session: new RedshiftStandIn(pool, copyFromLake(pool, s3Processed)) } })
    try {
      const mirrored = await load({ ...pipeline.ctx, processed: s3Processed }, { warehouse: redshift, schema: 'public' })
      assert.equal(mirrored.runs.length, 3)
      const rows = (await pool.query<(string | null)[]>({ text: factSql(pipeline, 'text'), rowMode: 'array' })).rows
      assert.deepEqual(rows, await postgresFacts(pipeline), 'the Redshift SQL holds the rows PostgreSQL holds, with the same record ids')
    } finally {
      await redshift.close()
      await pool.end()
    }
  })

  it('lists only the runs since the last check to collect their snapshot marks', async () => {
    const pipeline = await fixture.pipeline({ env: { STARLINE_LATE_ROWS_INTERVAL: '0s' } })
    await pipeline.cycle()
    for (const day of [1, 2]) {
      await pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = $1", [day])
      await pipeline.cycle()
    }
    const listings: { prefix: string; startAfter: string | undefined }[] = []
    const store = pipeline.ctx.ingestion
    const counting = new Proxy(store, {
      get(target, property) {
        if (property !== 'list') {
          // The store keeps private fields: its methods run on the store itself.
          const value: unknown = Reflect.get(target, property)
          return typeof value === 'function' ? value.bind(target) : value
        }
        return (prefix: string, options?: { startAfter?: string }) => {
          listings.push({ prefix, startAfter: options?.startAfter })
          return target.list(prefix, options)
        }
      },
    })
    await pipeline.source(ORDER, ['2024-11-03 07:00:00'])
    const summary = await extract({ ...pipeline.ctx, ingestion: counting }, extractOptions(pipeline.config))
    assert.equal(summary.lateRows?.find((t) => t.table === 'sales_order')?.lateRows, 1)
    const manifests = listings.filter((l) => l.prefix === MANIFEST_PREFIX)
    assert.ok(manifests.length > 0)
    assert.deepEqual(manifests.filter((l) => l.startAfter === undefined), [], 'no listing of every run the lake ever had')
  })

  it('finds a late row written under a savepoint by a transaction open at the last check', async () => {
    const pipeline = await fixture.pipeline({ env: { STARLINE_LATE_ROWS_INTERVAL: '0s' } })
    await pipeline.cycle()
    const open = new pg.Client({ connectionString: pipeline.sourceUrl })
    await open.connect()
    try {
      await open.query('BEGIN')
      await open.query('SELECT pg_current_xact_id()')
      await open.query('SAVEPOINT late')
      // Its xmin is a subtransaction's id: a snapshot lists only the top-level transaction as running.
      const [inSavepoint] = (await open.query<{ sales_order_id: number }>(ORDER, ['2024-11-04 09:00:00.250'])).rows
      await open.query('RELEASE SAVEPOINT late')
      // Another late row, committed: the check while the transaction is open finds it and publishes its mark.
      await pipeline.source(ORDER, ['2024-11-06 08:00:00.125'])
      const during = await pipeline.cycle()
      assert.equal(lateOrders(during), 1, 'the committed late row; the open one is not visible yet')
      await open.query('COMMIT')

      const afterCommit = await pipeline.cycle()
      // The savepoint's row is found; the committed one is re-read (its writer was inside the last mark's range) and skipped.
      assert.equal(lateOrders(afterCommit), 2)
      assert.equal(alreadyHeld(afterCommit.load, 'fact_sales_order'), 1)
      await assertWarehouseMatchesSource(pipeline)
      const [loaded] = await pipeline.warehouse<{ n: number }>('SELECT count(*)::int AS n FROM fact_sales_order WHERE sales_order_id = $1', [inSavepoint!.sales_order_id])
      assert.equal(loaded?.n, 1)
    } finally {
      await open.end()
    }
  })
})
