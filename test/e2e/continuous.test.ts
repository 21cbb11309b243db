/**
 * `starline run --every` as a user runs it: several cycles while the source
 * changes, each change in the warehouse when the first cycle started after it
 * finishes, that cycle started on schedule, no two cycles overlapping, and a
 * clean stop on SIGTERM. Judged against the cycles' own start and finish
 * times, not a fixed wall-clock bound, so a slow machine does not fail it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { listAll } from '../../src/lake/object-store.js'
import { startCli } from '../support/cli-process.js'
import { PipelineFixture, type Pipeline } from '../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../support/source-comparison.js'

const INTERVAL_MS = 4000
const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

interface CycleLine {
  readonly cycle: number
  readonly startedAt: string
  readonly finishedAt: string
  readonly summary?: { readonly extract: { readonly rows: number } }
  readonly error?: string
  readonly skipped?: string
  readonly stopped?: string
}

describe('continuous mode', () => {
  let pipeline: Pipeline

  before(async () => {
    pipeline = await fixture.pipeline({ scale: 0.05 })
  })

  it('runs cycles on a schedule while the source changes, delivers each change by the end of the first cycle started after it, never overlaps, and stops cleanly on SIGTERM', async (t) => {
    const { child, done } = startCli(['run', '--every', `${INTERVAL_MS / 1000}s`, '--json'], {
      STARLINE_SOURCE_URL: pipeline.sourceUrl,
      STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      STARLINE_EXTRACT_LAG: '0ms',
    })
    let stdout = ''
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const changes: { readonly changedAt: number; readonly seenAt: number }[] = []
    const cycles = (): CycleLine[] => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as CycleLine)
    try {
      await waitFor(() => cycles().length >= 1, 120_000, 'the first (full) cycle')
      const ids = await pipeline.source<{ id: number }>('SELECT sales_order_id AS id FROM sales_order ORDER BY sales_order_id LIMIT 3')
      for (const [i, { id }] of ids.entries()) {
        // Changes land at different points of the interval: mid-wait, just after a cycle starts...
        await sleep(700 + i * 1100)
        const marker = 5000 + i
        await pipeline.source('UPDATE sales_order SET units_sold = $2, last_updated = localtimestamp(3) WHERE sales_order_id = $1', [id, marker])
        const changedAt = Date.now()
        await waitFor(
          async () => (await pipeline.warehouse('SELECT 1 FROM fact_sales_order_current WHERE sales_order_id = $1 AND units_sold = $2', [id, marker])).length === 1,
          6 * INTERVAL_MS,
          `change ${i} in the warehouse`,
        )
        changes.push({ changedAt, seenAt: Date.now() })
      }
      t.diagnostic(`change-to-warehouse delays (ms): ${changes.map((c) => c.seenAt - c.changedAt).join(', ')}; interval ${INTERVAL_MS} ms`)
    } finally {
      child.kill('SIGTERM')
    }
    const result = await done
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stderr, /stopping after the current step/)

    const ran = cycles()
    assert.ok(ran.length >= 4, `several cycles ran: ${ran.length}`)
    const at = (iso: string) => Date.parse(iso)
    for (const [i, change] of changes.entries()) {
      // A cycle running when the change committed may take it (its snapshot can come after the commit);
      // at the latest the first cycle started after it does. The warehouse is polled every 100 ms:
      // the change is seen within a second of the delivering cycle's end.
      const firstAfter = ran.find((c) => at(c.startedAt) >= change.changedAt)
      const delivering = ran.find((c) => at(c.finishedAt) >= change.changedAt && change.seenAt <= at(c.finishedAt) + 1000)
      assert.ok(delivering, `change ${i} was in the warehouse by the end of no cycle that finished after it`)
      assert.ok(!firstAfter || at(delivering.startedAt) <= at(firstAfter.startedAt), `change ${i} waited past cycle ${firstAfter?.cycle}, the first started after it`)
      // On schedule: within one interval of the change, or of the end of a cycle still running then.
      const running = ran.find((c) => at(c.startedAt) < change.changedAt && at(c.finishedAt) > change.changedAt)
      const due = Math.max(change.changedAt, running ? at(running.finishedAt) : 0) + INTERVAL_MS
      assert.ok(at(delivering.startedAt) <= due + 1000, `cycle ${delivering.cycle} started ${at(delivering.startedAt) - due} ms after it was due`)
    }
    assert.deepEqual(ran.filter((c) => c.error !== undefined || c.skipped !== undefined), [], 'no cycle failed or was skipped')
    assert.ok(ran.slice(0, -1).every((c) => c.summary !== undefined), 'every cycle but one the stop may have cut short ran to the end')
    for (let i = 1; i < ran.length; i++) {
      assert.ok(ran[i - 1]!.finishedAt <= ran[i]!.startedAt, `cycle ${ran[i]!.cycle} started before cycle ${ran[i - 1]!.cycle} finished`)
    }
    assert.deepEqual([...(await listAll(pipeline.ctx.ingestion, '_leases/')), ...(await listAll(pipeline.ctx.processed, '_leases/'))], [], 'no lease left behind')

    // Whatever the stop interrupted, one more cycle converges to the source.
    await pipeline.cycle()
    await assertWarehouseMatchesSource(pipeline)
  })
})

describe('continuous mode stopped mid-cycle', () => {
  it('abandons a first full extract safely on SIGTERM: exit 0, no lease, no manifest, and the next cycle converges', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.1 })
    const { child, done } = startCli(['run', '--every', '1h', '--json'], {
      STARLINE_SOURCE_URL: pipeline.sourceUrl,
      STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      STARLINE_EXTRACT_LAG: '0ms',
      STARLINE_LOG_LEVEL: 'debug',
    })
    let stderr = ''
    const firstTable = new Promise<void>((resolve) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        if (stderr.includes('"message":"extracted table"')) resolve()
      })
    })
    await firstTable
    child.kill('SIGTERM')
    const result = await done
    assert.equal(result.code, 0, result.stderr)
    const reports = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as CycleLine)
    assert.equal(reports.length, 1)
    // The stop lands between two tables of the extract; on a very slow machine it may reach the transform instead.
    const stage = /The (extract|transform) stage was stopped/.exec(reports[0]!.stopped ?? '')?.[1]
    assert.ok(stage, `a stage was stopped: ${JSON.stringify(reports[0])}`)
    if (stage === 'extract') assert.deepEqual(await listAll(pipeline.ctx.ingestion, ''), [], 'nothing published, no lease, no failure record')
    assert.deepEqual(await listAll(pipeline.ctx.processed, ''), [], 'nothing transformed, no lease, no failure record')
    assert.deepEqual(await listAll(pipeline.ctx.ingestion, '_leases/'), [])

    await pipeline.cycle()
    await assertWarehouseMatchesSource(pipeline)
  })
})

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}
