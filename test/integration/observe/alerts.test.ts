/**
 * Alerts on a real pipeline (embedded PostgreSQL, filesystem lake) through
 * real sinks: a webhook on 127.0.0.1 and, where moto_server is installed,
 * an SNS topic delivering to that webhook. One alert per incident, a
 * recovery message when it clears, and a failed delivery tried again.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { runIdInstant } from '../../../src/core/run-id.js'
import { extract } from '../../../src/pipeline/extract.js'
import { applyObservations, readIncidents } from '../../../src/observe/alerts/incidents.js'
import { observeStages, observeStatus } from '../../../src/observe/alerts/evaluate.js'
import { SnsAlertSink } from '../../../src/observe/alerts/sns-sink.js'
import { WebhookAlertSink } from '../../../src/observe/alerts/webhook-sink.js'
import { silentLogger } from '../../../src/observe/logger.js'
import { collectStatus } from '../../../src/observe/status.js'
import { extractOptions, openConfiguredWarehouse } from '../../../src/runtime/pipeline-setup.js'
import { MOTO_MISSING, startMoto, useEnv } from '../../support/moto-server.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'
import { startWebhookServer, type WebhookServer } from '../../support/webhook-server.js'

const fixture = new PipelineFixture()
let hook: WebhookServer
before(async () => {
  await fixture.start()
  hook = await startWebhookServer()
})
after(async () => {
  await hook?.stop()
  await fixture.stop()
})

async function statusOf(pipeline: Pipeline, now?: Date) {
  const warehouse = await openConfiguredWarehouse(pipeline.config)
  try {
    return await collectStatus({
      dataset: pipeline.ctx.dataset,
      ingestion: pipeline.ctx.ingestion,
      processed: pipeline.ctx.processed,
      warehouse,
      schema: 'public',
      freshnessTargetMs: 30 * 60_000,
      ...(now ? { now } : {}),
    })
  } finally {
    await warehouse.close()
  }
}

const LATE_DESIGN =
  "INSERT INTO design (design_name, file_location, file_name, created_at, last_updated) VALUES ('late', '/late', 'late.json', now(), now() + interval '1 hour') RETURNING design_id"

describe('alerts', () => {
  it('raises freshness once when an extracted run waits past the target, and resolves it once loaded', async () => {
    hook.received.length = 0
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    const sink = new WebhookAlertSink(hook.url)
    const summary = await extract(pipeline.ctx, extractOptions(pipeline.config))
    const later = new Date(runIdInstant(summary.runId!) + 31 * 60_000)
    for (let i = 0; i < 2; i++) {
      const stale = await statusOf(pipeline, later)
      assert.ok(stale.warehouse.every((t) => !t.fresh && t.lagMs >= 31 * 60_000))
      await applyObservations(pipeline.ctx.ingestion, sink, observeStatus(stale, 3), silentLogger)
    }
    assert.deepEqual(hook.received.map((a) => [a.incident, a.state]), [['freshness', 'raised']])
    assert.match(String(hook.received[0]!.title), /31 min behind/)

    await pipeline.cycle()
    await applyObservations(pipeline.ctx.ingestion, sink, observeStatus(await statusOf(pipeline), 3), silentLogger)
    assert.deepEqual(hook.received.map((a) => [a.incident, a.state]), [['freshness', 'raised'], ['freshness', 'resolved']])
  })

  it('raises held once facts have waited for N loads, and resolves it when their dimension row arrives', async () => {
    hook.received.length = 0
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    const sink = new WebhookAlertSink(hook.url)
    await pipeline.cycle()
    const [design] = await pipeline.source<{ design_id: number }>(LATE_DESIGN)
    await pipeline.source('UPDATE sales_order SET design_id = $1, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = 1', [design!.design_id])
    const heldFor: number[] = []
    for (let load = 1; load <= 3; load++) {
      if (load > 1) await pipeline.source('UPDATE sales_order SET units_sold = units_sold + 1, last_updated = clock_timestamp()::timestamp(3) WHERE sales_order_id = $1', [load])
      await pipeline.cycle()
      const status = await statusOf(pipeline)
      heldFor.push(status.warehouse.find((t) => t.table === 'fact_sales_order')!.heldForRuns)
      await applyObservations(pipeline.ctx.ingestion, sink, observeStatus(status, 2), silentLogger)
    }
    assert.deepEqual(heldFor, [1, 2, 3])
    assert.deepEqual(hook.received.map((a) => [a.incident, a.state]), [['held', 'raised']], 'raised at the second load, once')
    assert.match(String(hook.received[0]!.detail), /fact_sales_order: 1 rows, for 2 loads/)

    await pipeline.source('UPDATE design SET last_updated = clock_timestamp()::timestamp(3) WHERE design_id = $1', [design!.design_id])
    await pipeline.cycle()
    await applyObservations(pipeline.ctx.ingestion, sink, observeStatus(await statusOf(pipeline), 2), silentLogger)
    assert.deepEqual(hook.received.map((a) => [a.incident, a.state]), [['held', 'raised'], ['held', 'resolved']])
  })

  it('tries a delivery the webhook refused again at the next evaluation, and alerts once it is taken', async () => {
    hook.received.length = 0
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    const sink = new WebhookAlertSink(hook.url)
    const failed = observeStages([{ stage: 'extract', error: new Error('boom') }])
    hook.respondWith(503)
    assert.deepEqual(await applyObservations(pipeline.ctx.ingestion, sink, failed, silentLogger), [])
    assert.deepEqual(await readIncidents(pipeline.ctx.ingestion), [], 'the claim was withdrawn')
    hook.respondWith(200)
    assert.equal((await applyObservations(pipeline.ctx.ingestion, sink, failed, silentLogger)).length, 1)
    assert.equal((await applyObservations(pipeline.ctx.ingestion, sink, failed, silentLogger)).length, 0)
    assert.deepEqual(hook.received.map((a) => [a.incident, a.state]), [['failure-extract', 'raised']])
  })

  it('publishes to an SNS topic, which delivers to its HTTP subscriber', { skip: MOTO_MISSING }, async () => {
    hook.received.length = 0
    const moto = await startMoto()
    const restore = useEnv(moto.env)
    try {
      const { SNSClient, CreateTopicCommand, SubscribeCommand } = await import('@aws-sdk/client-sns')
      const client = new SNSClient({})
      const topic = await client.send(new CreateTopicCommand({ Name: 'starline-alerts' }))
      await client.send(new SubscribeCommand({ TopicArn: topic.TopicArn!, Protocol: 'http', Endpoint: hook.url }))
      const pipeline = await fixture.pipeline({ scale: 0.05 })
      const sink = new SnsAlertSink(topic.TopicArn!, client)
      await applyObservations(pipeline.ctx.ingestion, sink, observeStages([{ stage: 'load', error: new Error('warehouse down') }]), silentLogger)
      await applyObservations(pipeline.ctx.ingestion, sink, observeStages([{ stage: 'load' }]), silentLogger)
      const deadline = Date.now() + 10_000
      const notifications = () => hook.received.filter((m) => m.Type === 'Notification')
      while (notifications().length < 2 && Date.now() < deadline) await sleep(100)
      const alerts = notifications().map((m) => JSON.parse(String(m.Message)) as Record<string, unknown>)
      assert.deepEqual(alerts.map((a) => [a.incident, a.state]), [['failure-load', 'raised'], ['failure-load', 'resolved']])
      assert.equal(notifications()[0]!.Subject, 'starline ALERT: failure-load')
    } finally {
      restore()
      await moto.stop()
    }
  })
})
