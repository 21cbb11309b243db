import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { acquireLease } from '../../../src/lake/lease.js'
import { listRunIds } from '../../../src/lake/manifest.js'
import { listAll } from '../../../src/lake/object-store.js'
import { StageAbortedError } from '../../../src/pipeline/errors.js'
import { handler as ingestion } from '../../../src/runtime/lambda/ingestion-handler.js'
import { handler as loader } from '../../../src/runtime/lambda/loader-handler.js'
import { discardLambdaRuntime } from '../../../src/runtime/lambda/lambda-runtime.js'
import { handler as transform } from '../../../src/runtime/lambda/transform-handler.js'
import { captureOutput, lambdaContext, manifestRecord, quietly, s3Event, scheduledEvent } from '../../support/lambda-events.js'
import { cliRun, lambdaEnv, simulateDay } from '../../support/lambda-setup.js'
import { MOTO_MISSING, startMoto, useEnv, type MotoServer } from '../../support/moto-server.js'
import { PipelineFixture, warehouseSnapshot } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
let moto: MotoServer | undefined
let scratch: string

before(async () => {
  if (MOTO_MISSING) return
  await fixture.start()
  moto = await startMoto()
  scratch = mkdtempSync(join(tmpdir(), 'starline-lambda-'))
})

after(async () => {
  await discardLambdaRuntime()
  await fixture.stop()
  await moto?.stop()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

/** One cycle through the three handlers, as the S3 notifications would chain them. */
async function handlerCycle(): Promise<{ extracted: string[]; transformed: string[]; loaded: string[] }> {
  const extracted = await ingestion(scheduledEvent(), lambdaContext())
  const manifests = extracted.runIds.map((runId) => manifestRecord(process.env.STARLINE_INGESTION_URL!, runId))
  const transformed = await transform(s3Event(manifests), lambdaContext())
  const processed = transformed.runIds.map((runId) => manifestRecord(process.env.STARLINE_PROCESSED_URL!, runId))
  const loaded = await loader(s3Event(processed), lambdaContext())
  return { extracted: [...extracted.runIds], transformed: [...transformed.runIds], loaded: [...loaded.runIds] }
}

describe('Lambda handlers', { skip: MOTO_MISSING }, () => {
  it('extract, transform and load through their events with secrets from Secrets Manager, ending equal to a CLI run', async () => {
    const viaLambda = await fixture.pipeline({ lake: 's3' })
    const viaCli = await fixture.pipeline({ lake: 's3' })
    const restore = useEnv(await lambdaEnv(moto!, viaLambda, scratch))
    try {
      const first = await captureOutput(handlerCycle)
      assert.equal(first.error, undefined, String(first.error))
      const [runId] = first.result!.extracted
      assert.ok(runId, 'the first scheduled event extracts a run')
      assert.deepEqual(first.result!.transformed, [runId])
      assert.deepEqual(first.result!.loaded, [runId])

      // One line per stage, with run id, tables, rows and duration.
      const lines = first.output.logs.filter((l) => l.message === 'stage finished')
      assert.deepEqual(lines.map((l) => [l.function, l.stage, l.runIds]), [
        ['ingestion', 'extract', [runId]],
        ['transform', 'transform', [runId]],
        ['loader', 'load', [runId]],
      ])
      for (const line of lines) {
        assert.ok(Number(line.rows) > 0 && Array.isArray(line.tables) && (line.tables as unknown[]).length > 0 && Number.isInteger(line.durationMs), JSON.stringify(line))
      }
      // EMF: one document per invocation in namespace Starline, dimension Function.
      assert.deepEqual(first.output.metrics.map((m) => m.Function), ['ingestion', 'transform', 'loader'])
      for (const [i, doc] of first.output.metrics.entries()) {
        const aws = doc._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }
        assert.equal(aws.CloudWatchMetrics[0]!.Namespace, 'Starline')
        assert.deepEqual(aws.CloudWatchMetrics[0]!.Dimensions, [['Function']])
        assert.deepEqual(aws.CloudWatchMetrics[0]!.Metrics.map((m) => `${m.Name}:${m.Unit}`), ['RowsMoved:Count', 'RunDuration:Milliseconds', 'WatermarkAge:Seconds'])
        assert.equal(doc.RowsMoved, lines[i]!.rows)
        assert.ok(Number(doc.WatermarkAge) > 0, 'the watermark (November 2024) is in the past')
      }

      await cliRun(viaCli)
      assert.deepEqual(await warehouseSnapshot(viaLambda), await warehouseSnapshot(viaCli), 'first cycle: Lambda and CLI warehouses are equal')

      await simulateDay(viaLambda)
      await simulateDay(viaCli)
      const second = await captureOutput(handlerCycle)
      assert.equal(second.error, undefined, String(second.error))
      assert.equal(second.result!.loaded.length, 1, 'the simulated day is one more run')
      await cliRun(viaCli)
      assert.deepEqual(await warehouseSnapshot(viaLambda), await warehouseSnapshot(viaCli), 'after a simulated day: Lambda and CLI warehouses are equal')
    } finally {
      restore()
    }
  })

  it('loads a run exactly once when its S3 event is duplicated and two loader invocations overlap', async () => {
    const pipeline = await fixture.pipeline({ lake: 's3' })
    const reference = await fixture.pipeline({ lake: 's3' })
    const restore = useEnv(await lambdaEnv(moto!, pipeline, scratch))
    try {
      const extracted = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      const ingestionManifest = manifestRecord(pipeline.config.ingestionUrl, extracted.runIds[0]!)
      // The ingestion manifest's event, delivered twice, to two overlapping transforms.
      const transforms = await quietly(() => Promise.all([0, 1].map(() => transform(s3Event([ingestionManifest]), lambdaContext()))))
      assert.deepEqual(transforms.flatMap((t) => t.runIds), extracted.runIds, 'one of the two transforms did the run, the other found it done')
      const runId = extracted.runIds[0]!
      const record = manifestRecord(pipeline.config.processedUrl, runId)
      // A duplicated record in one event, and the same event to two concurrent invocations.
      const duplicated = s3Event([record, record])
      const results = await quietly(() => Promise.all([loader(duplicated, lambdaContext()), loader(duplicated, lambdaContext())]))
      const committed = results.flatMap((r) => r.summary!.runs.filter((run) => run.rows > 0).map((run) => run.runId))
      assert.deepEqual(committed, [runId], 'exactly one invocation committed the run')

      const ledger = await pipeline.warehouse<{ run_id: string }>('SELECT run_id FROM _starline_loads')
      assert.deepEqual(ledger.map((r) => r.run_id), [runId])
      await reference.cycle()
      assert.deepEqual(await warehouseSnapshot(pipeline), await warehouseSnapshot(reference), 'the warehouse equals one clean load')

      // A late redelivery changes nothing.
      const late = await quietly(() => loader(s3Event([record]), lambdaContext()))
      assert.equal(late.rows, 0)
      assert.deepEqual(await warehouseSnapshot(pipeline), await warehouseSnapshot(reference))
    } finally {
      restore()
    }
  })

  it('skips an event whose records hold no manifest, logging each record it ignores', async () => {
    const pipeline = await fixture.pipeline({ lake: 's3' })
    const restore = useEnv(await lambdaEnv(moto!, pipeline, scratch))
    try {
      const extracted = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      const runId = extracted.runIds[0]!
      const manifest = manifestRecord(pipeline.config.ingestionUrl, runId)
      const event = s3Event([
        { bucket: manifest.bucket, key: manifest.key.replace(`_manifests/${runId}.json`, `sales_order/2024/11/18/${runId}.csv`) },
        { ...manifest, eventName: 'ObjectRemoved:Delete' },
        // A manifest this zone does not hold (a replayed or hand-made event).
        manifestRecord(pipeline.config.ingestionUrl, '20991231T000000000Z'),
      ])
      const { result, error, output } = await captureOutput(() => transform(event, lambdaContext()))
      assert.equal(error, undefined, String(error))
      assert.equal(result!.skipped, 'no ingestion manifest in the event')
      assert.deepEqual(await listRunIds(pipeline.ctx.processed), [], 'nothing was transformed')
      const ignored = output.logs.filter((l) => l.message === 'event record ignored')
      assert.deepEqual(ignored.map((l) => l.reason), ['not a run manifest', 'not an ObjectCreated event'])
      assert.deepEqual(output.logs.filter((l) => String(l.message).startsWith('event announced a manifest that is not in the zone')).map((l) => l.runId), ['20991231T000000000Z'])
    } finally {
      restore()
    }
  })

  it('leaves a scheduled tick to an extract that is still running, and extracts on the next', async () => {
    const pipeline = await fixture.pipeline({ lake: 's3' })
    const restore = useEnv(await lambdaEnv(moto!, pipeline, scratch))
    try {
      // A live holder: this process, so the lease is not stale.
      const running = await acquireLease(pipeline.ctx.ingestion, 'extract', '20261203T000000000Z', { ttlMs: 60_000 })
      const skipped = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      assert.equal(skipped.skipped, 'another extract holds the lease')
      assert.deepEqual(await listRunIds(pipeline.ctx.ingestion), [])
      await running.release()
      const next = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      assert.equal(next.runIds.length, 1)
    } finally {
      restore()
    }
  })

  it('stops a stage when the invocation nears its timeout, publishing nothing, so the retry does the run', async () => {
    const pipeline = await fixture.pipeline({ lake: 's3' })
    const restore = useEnv(await lambdaEnv(moto!, pipeline, scratch))
    try {
      const extracted = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      const event = s3Event([manifestRecord(pipeline.config.ingestionUrl, extracted.runIds[0]!)])
      // Less time left than the margin kept for cleaning up: the deadline has already passed.
      const { error, output } = await captureOutput(() => transform(event, lambdaContext(500)))
      assert.ok(error instanceof StageAbortedError, String(error))
      assert.equal(error.retryable, true)
      assert.deepEqual(output.logs.filter((l) => l.message === 'stage failed').map((l) => [l.function, l.error, l.retryable]), [['transform', 'StageAbortedError', true]])
      assert.deepEqual(await listAll(pipeline.ctx.processed, ''), [], 'nothing in the processed zone, not even the lease')
      const retried = await quietly(() => transform(event, lambdaContext()))
      assert.deepEqual(retried.runIds, extracted.runIds)
    } finally {
      restore()
    }
  })

  it('waits behind another load of the schema for as long as the invocation can, not a fixed 30 s', async () => {
    const pipeline = await fixture.pipeline({ lake: 's3' })
    const restore = useEnv({ ...(await lambdaEnv(moto!, pipeline, scratch)), STARLINE_RETRIES: '0' })
    const holder = new pg.Client({ connectionString: pipeline.warehouseUrl })
    await holder.connect()
    try {
      const extracted = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      const transformed = await quietly(() => transform(s3Event([manifestRecord(pipeline.config.ingestionUrl, extracted.runIds[0]!)]), lambdaContext()))
      // Another load holds the schema's lock and keeps it.
      await holder.query("SELECT pg_advisory_lock(hashtextextended('starline:' || 'public', 0))")
      const event = s3Event([manifestRecord(pipeline.config.processedUrl, transformed.runIds[0]!)])
      // 5 s left: the wait is what remains less the margins (3 s), inside the invocation.
      const { error } = await captureOutput(() => loader(event, lambdaContext(5_000)))
      assert.ok(error instanceof Error, String(error))
      assert.match(error.message, /has held the load lock of schema "public" .* for (2\.9\d*|3) s/)
      assert.equal((error as { retryable?: boolean }).retryable, true)
      await holder.query("SELECT pg_advisory_unlock(hashtextextended('starline:' || 'public', 0))")
      const retried = await quietly(() => loader(event, lambdaContext()))
      assert.deepEqual(retried.runIds, transformed.runIds)
    } finally {
      await holder.end()
      restore()
    }
  })

  it('fails with a terminal error naming the secret when it does not exist, and recovers once it does', async () => {
    const pipeline = await fixture.pipeline({ lake: 's3' })
    const env = await lambdaEnv(moto!, pipeline, scratch)
    const restore = useEnv({ ...env, STARLINE_SOURCE_SECRET_ID: 'starline/missing' })
    try {
      const { error } = await captureOutput(() => ingestion(scheduledEvent(), lambdaContext()))
      assert.ok(error instanceof Error)
      assert.match(error.message, /Cannot read secret "starline\/missing" from Secrets Manager: ResourceNotFoundException/)
      assert.equal((error as { retryable?: boolean }).retryable, false)
    } finally {
      restore()
    }
    const again = useEnv(env)
    try {
      const extracted = await quietly(() => ingestion(scheduledEvent(), lambdaContext()))
      assert.equal(extracted.runIds.length, 1)
    } finally {
      again()
    }
  })
})
