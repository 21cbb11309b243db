/**
 * Status freshness from the lake alone (embedded PostgreSQL, filesystem
 * lake): a stage that keeps failing makes the pipeline lag from its first
 * failure, with no alert sink and no incident recorded (as on Lambda), and
 * its first success after that clears it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SourceError } from '../../../src/source/errors.js'
import { extract } from '../../../src/pipeline/extract.js'
import { collectStatus } from '../../../src/observe/status.js'
import { formatStatus } from '../../../src/observe/status-text.js'
import { extractOptions, openConfiguredWarehouse } from '../../../src/runtime/pipeline-setup.js'
import type { Source } from '../../../src/source/source.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const TARGET_MS = 30 * 60_000

async function statusOf(pipeline: Pipeline, now: Date) {
  const warehouse = await openConfiguredWarehouse(pipeline.config)
  try {
    return await collectStatus({
      dataset: pipeline.ctx.dataset,
      ingestion: pipeline.ctx.ingestion,
      processed: pipeline.ctx.processed,
      warehouse,
      schema: 'public',
      freshnessTargetMs: TARGET_MS,
      now,
    })
  } finally {
    await warehouse.close()
  }
}

/** The configured source, unreachable: every snapshot fails as a lost connection does. */
function unreachable(source: Source): Source {
  return {
    ...source,
    openSnapshot: async () => {
      throw new SourceError('Cannot connect to the source (STARLINE_SOURCE_URL): connection refused.', { retryable: true })
    },
  }
}

describe('collectStatus freshness', () => {
  it('lags from the first failure of a stage that keeps failing, with no incident recorded, and clears on its next success', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    await pipeline.cycle()
    const options = extractOptions(pipeline.config)
    const failingOptions = { ...options, source: unreachable(options.source) }
    const before = Date.now()
    for (let i = 0; i < 2; i++) await assert.rejects(extract(pipeline.ctx, failingOptions), SourceError)

    const later = new Date(Date.now() + 31 * 60_000)
    const failing = await statusOf(pipeline, later)
    assert.deepEqual(failing.openIncidents, [], 'no alert sink ran: nothing was recorded as an incident')
    assert.deepEqual(failing.pending, { transform: [], load: [] }, 'everything extracted is loaded')
    assert.deepEqual(failing.failing.map((f) => f.stage), ['extract'])
    const since = Date.parse(failing.failing[0]!.since)
    assert.ok(since >= before - 1 && since <= Date.now(), `failing since ${failing.failing[0]!.since}: the first failure`)
    assert.ok(failing.warehouse.length > 0)
    for (const table of failing.warehouse) {
      assert.equal(table.lagMs, later.getTime() - since, table.table)
      assert.equal(table.fresh, false, table.table)
    }
    assert.match(formatStatus(failing), /failing now: extract since /)

    // The source is back: an extract that finds nothing new still ends the failing streak.
    await extract(pipeline.ctx, options)
    const recovered = await statusOf(pipeline, later)
    assert.deepEqual(recovered.failing, [])
    assert.ok(recovered.warehouse.every((t) => t.fresh && t.lagMs === 0))
    assert.equal(recovered.lastFailures.length, 1, 'the last failure is still shown')
  })
})
