/**
 * An idle extract keeps the last window end without reading the source
 * tables only when the source's change counters prove nothing was written:
 * a row committed between runs, a write the counters have not been told of
 * yet, and a statistics reset all send the run down the full path, and the
 * row is in the run.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { latestManifest } from '../../../src/lake/manifest.js'
import { createLogger } from '../../../src/observe/logger.js'
import { extract } from '../../../src/pipeline/extract.js'
import type { StageContext } from '../../../src/pipeline/context.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { openSource } from '../../../src/source/open-source.js'
import type { ExtractSummary } from '../../../src/schema/summaries.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const UNCHANGED = 'the source is unchanged since the last run; its window end stands'

/** One extract with a logger that keeps its messages. */
async function extractLogged(pipeline: Pipeline): Promise<{ summary: ExtractSummary; messages: string[] }> {
  const messages: string[] = []
  const logger = createLogger({ level: 'debug', write: (line) => void messages.push((JSON.parse(line) as { message: string }).message) })
  const ctx: StageContext = { ...pipeline.ctx, logger }
  return { summary: await extract(ctx, extractOptions(pipeline.config)), messages }
}

/** Runs `sql` on a connection of its own, closed and gone from the server when this returns (its counts are then in the counters). */
async function writeAndLeave(pipeline: Pipeline, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pipeline.sourceUrl })
  await client.connect()
  await client.query(sql)
  await client.end()
  await untilAlone(pipeline)
}

/** Waits until no session is left on the source database (a closed connection's server process ends a moment later). */
async function untilAlone(pipeline: Pipeline): Promise<void> {
  // Watched from another database, so the watcher is no session of the source's.
  const admin = new pg.Client({ connectionString: fixture.server.url('postgres') })
  await admin.connect()
  try {
    const database = decodeURIComponent(new URL(pipeline.sourceUrl).pathname.slice(1))
    for (let i = 0; i < 400; i++) {
      const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [database])
      if (rows.length === 0) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`sessions stayed on ${database}`)
  } finally {
    await admin.end()
  }
}

/** The source's current activity mark, as the next extract reads it. */
async function currentActivity(pipeline: Pipeline) {
  const snapshot = await openSource(pipeline.sourceUrl, { schema: 'public' }).openSnapshot({ watch: pipeline.ctx.dataset.sourceTables.map((t) => t.name) })
  try {
    return snapshot.activity
  } finally {
    await snapshot.close()
  }
}

/** A pipeline after its first extract and a second one that found nothing, with no session of its own left on the source. */
async function caughtUp(): Promise<Pipeline> {
  const pipeline = await fixture.pipeline({ scale: 0.02 })
  const first = await extract(pipeline.ctx, extractOptions(pipeline.config))
  assert.ok(first.rows > 0)
  assert.ok((await latestManifest(pipeline.ctx.ingestion, 'extract'))?.manifest.sourceActivity, 'the first run records the source activity')
  await untilAlone(pipeline)
  return pipeline
}

const STAMP = 'clock_timestamp()::timestamp(3)'

describe('extract on an idle source', () => {
  it('keeps the window end without reading the tables when nothing was written', async () => {
    const pipeline = await caughtUp()
    const { summary, messages } = await extractLogged(pipeline)
    assert.equal(summary.rows, 0)
    assert.equal(summary.runId, undefined)
    assert.ok(messages.includes(UNCHANGED), `the window end was not read: ${messages.join(' | ')}`)
  })

  it('takes a row committed between runs', async () => {
    const pipeline = await caughtUp()
    await writeAndLeave(pipeline, `UPDATE staff SET last_name = 'Between', last_updated = ${STAMP} WHERE staff_id = 1`)
    const { summary, messages } = await extractLogged(pipeline)
    assert.deepEqual(summary.tables.map((t) => [t.table, t.rows]), [['staff', 1]])
    assert.ok(!messages.includes(UNCHANGED))
  })

  it('takes a write the counters have not been told of, while its session is still connected', async () => {
    const pipeline = await caughtUp()
    const recorded = (await latestManifest(pipeline.ctx.ingestion, 'extract'))!.manifest.sourceActivity
    // A superuser session with track_counts off never adds its counts: the stalest counters can be.
    const writer = new pg.Client({ connectionString: pipeline.sourceUrl })
    await writer.connect()
    try {
      await writer.query('SET track_counts = off')
      await writer.query(`UPDATE sales_order SET units_sold = 777, last_updated = ${STAMP} WHERE sales_order_id = 5`)
      const activity = await currentActivity(pipeline)
      assert.equal(activity?.mark, recorded, 'the counters do not show the update (the case under test)')
      assert.equal(activity?.quiet, false)
      const { summary, messages } = await extractLogged(pipeline)
      assert.deepEqual(summary.tables.map((t) => [t.table, t.rows]), [['sales_order', 1]])
      assert.ok(!messages.includes(UNCHANGED))
    } finally {
      await writer.end()
    }
  })

  it('reads the tables again after the statistics are reset', async () => {
    const pipeline = await caughtUp()
    const recorded = (await latestManifest(pipeline.ctx.ingestion, 'extract'))!.manifest.sourceActivity
    await writeAndLeave(pipeline, 'SELECT pg_stat_reset()')
    const activity = await currentActivity(pipeline)
    assert.notEqual(activity?.mark, recorded, 'a reset changes the mark even where the counts come back to the same values')
    await writeAndLeave(pipeline, `UPDATE design SET design_name = 'Reset', last_updated = ${STAMP} WHERE design_id = 1`)
    const { summary } = await extractLogged(pipeline)
    assert.deepEqual(summary.tables.map((t) => [t.table, t.rows]), [['design', 1]])
  })

  it('takes a row written into an inheritance child of a source table', async () => {
    const pipeline = await caughtUp()
    // The child is made while the run is caught up: its rows count against the child, yet `FROM sales_order` reads them.
    await writeAndLeave(pipeline, 'CREATE TABLE sales_order_part () INHERITS (sales_order)')
    await extractLogged(pipeline)
    await untilAlone(pipeline)
    await writeAndLeave(
      pipeline,
      `INSERT INTO sales_order_part SELECT * FROM sales_order WHERE sales_order_id = 5; UPDATE sales_order_part SET sales_order_id = 900005, last_updated = ${STAMP}`,
    )
    const { summary, messages } = await extractLogged(pipeline)
    assert.deepEqual(summary.tables.map((t) => [t.table, t.rows]), [['sales_order', 1]])
    assert.ok(!messages.includes(UNCHANGED))
  })

  it('records no activity for a window held below the newest row, so the next run reads the tables', async () => {
    const pipeline = await caughtUp()
    await writeAndLeave(pipeline, "UPDATE currency SET last_updated = localtimestamp + interval '1 hour' WHERE currency_id = 1")
    await writeAndLeave(pipeline, `UPDATE staff SET last_updated = ${STAMP} WHERE staff_id = 2`)
    const held = await extractLogged(pipeline)
    assert.deepEqual(held.summary.tables.map((t) => t.table), ['staff'])
    assert.equal((await latestManifest(pipeline.ctx.ingestion, 'extract'))!.manifest.sourceActivity, undefined)
    const next = await extractLogged(pipeline)
    assert.ok(!next.messages.includes(UNCHANGED), 'a row stamped ahead waits for its time, read every run')
  })
})
