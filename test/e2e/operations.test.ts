/**
 * Operating starline from the command line against a real pipeline: one
 * alert per incident through a webhook and a recovery message, failure
 * records, `status` as text and JSON, and `--dry-run` writing nothing.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { acquireLease } from '../../src/lake/lease.js'
import { listAll } from '../../src/lake/object-store.js'
import type { PipelineStatus } from '../../src/observe/status.js'
import { runCli } from '../support/cli-process.js'
import { PipelineFixture, type Pipeline } from '../support/pipeline-fixture.js'
import { startWebhookServer, type WebhookServer } from '../support/webhook-server.js'

// Nothing listens on port 1: connections are refused at once (a retryable failure).
const UNREACHABLE = 'postgres://starline:hunter2-secret@127.0.0.1:1/warehouse'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

function cliEnv(pipeline: Pipeline, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STARLINE_SOURCE_URL: pipeline.sourceUrl,
    STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
    STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
    STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
    STARLINE_EXTRACT_LAG: '0ms',
    ...extra,
  }
}

/** Every file under a directory, relative to it. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort()
  } catch {
    return []
  }
}

async function count(query: Pipeline['source'], table: string): Promise<number> {
  return Number((await query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n)
}

describe('alerts from the command line', () => {
  let pipeline: Pipeline
  let hook: WebhookServer

  before(async () => {
    pipeline = await fixture.pipeline({ scale: 0.05 })
    hook = await startWebhookServer()
  })
  after(() => hook?.stop())

  it('sends one alert for a warehouse down across two runs, then a recovery message, and records each failure in the lake', async () => {
    const down = cliEnv(pipeline, { STARLINE_WAREHOUSE_URL: UNREACHABLE, STARLINE_ALERT_SINK: hook.url })
    const first = await runCli(['run'], down)
    assert.equal(first.code, 75, first.stderr)
    assert.equal(first.stderr.trim().split('\n').length, 1, `one line: ${first.stderr}`)
    assert.equal(hook.received.length, 1)
    assert.equal(hook.received[0]!.incident, 'failure-load')
    assert.equal(hook.received[0]!.state, 'raised')
    assert.match(String(hook.received[0]!.detail), /WarehouseUnreachableError \(retryable\).*STARLINE_WAREHOUSE_URL/)

    const second = await runCli(['run'], down)
    assert.equal(second.code, 75, second.stderr)
    assert.equal(hook.received.length, 1, 'the same incident alerts once')

    const healthy = await runCli(['run'], cliEnv(pipeline, { STARLINE_ALERT_SINK: hook.url }))
    assert.equal(healthy.code, 0, healthy.stderr)
    assert.equal(hook.received.length, 2)
    assert.deepEqual(
      { incident: hook.received[1]!.incident, state: hook.received[1]!.state, raisedAt: hook.received[1]!.raisedAt },
      { incident: 'failure-load', state: 'resolved', raisedAt: hook.received[0]!.at },
    )

    const records = await listAll(pipeline.ctx.processed, '_failures/load/')
    const failures = records.filter((o) => o.key.endsWith('.json'))
    assert.equal(failures.length, 2, 'one record per failed run')
    assert.equal(records.filter((o) => o.key.endsWith('.recovered')).length, 1, 'and one for the recovery that followed')
    for (const { key } of failures) {
      const record = JSON.parse((await pipeline.ctx.processed.getBytes(key)).toString('utf8'))
      assert.equal(record.stage, 'load')
      assert.equal(record.retryable, true)
      assert.match(record.reason, /STARLINE_WAREHOUSE_URL/)
      assert.doesNotMatch(JSON.stringify(record), /hunter2/)
    }
    assert.doesNotMatch(JSON.stringify(hook.received) + first.stderr + second.stderr, /hunter2/)
    const alertObjects = await listAll(pipeline.ctx.ingestion, '_alerts/')
    assert.deepEqual(alertObjects.map((o) => o.key), ['_alerts/failure-load/00000000.json', '_alerts/failure-load/00000001.json'])
  })

  it('shows the lake and why the warehouse cannot be read while it is down', async () => {
    const result = await runCli(['status', '--json'], cliEnv(pipeline, { STARLINE_WAREHOUSE_URL: UNREACHABLE, STARLINE_RETRIES: '0' }))
    assert.equal(result.code, 0, result.stderr)
    const status = JSON.parse(result.stdout) as PipelineStatus
    assert.match(status.warehouseError ?? '', /Cannot connect to the warehouse.*STARLINE_WAREHOUSE_URL/)
    assert.doesNotMatch(result.stdout, /hunter2/)
    assert.deepEqual(status.warehouse, [])
    assert.ok(status.source.every((t) => t.rowsMoved > 0), 'the lake part is there')
    const text = await runCli(['status'], cliEnv(pipeline, { STARLINE_WAREHOUSE_URL: UNREACHABLE, STARLINE_RETRIES: '0' }))
    assert.match(text.stdout, /cannot read the warehouse: Cannot connect/)
  })

  it('shows the last failure, no open incident and every table fresh in status --json', async () => {
    const result = await runCli(['status', '--json'], cliEnv(pipeline))
    assert.equal(result.code, 0, result.stderr)
    const status = JSON.parse(result.stdout) as PipelineStatus
    assert.deepEqual(status.lastFailures.map((f) => f.stage), ['load'])
    assert.deepEqual(status.openIncidents, [])
    assert.deepEqual(status.pending, { transform: [], load: [] })
    assert.ok(status.warehouse.every((t) => t.fresh && t.lagMs === 0))
  })
})

describe('a run whose last stage fails', () => {
  it('prints what extract and transform committed and the failure, as JSON and as text, and exits non-zero', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    const down = cliEnv(pipeline, { STARLINE_WAREHOUSE_URL: UNREACHABLE, STARLINE_RETRIES: '0' })
    const result = await runCli(['run', '--json'], down)
    assert.equal(result.code, 75, result.stderr)
    const summary = JSON.parse(result.stdout) as { extract: { runId: string }; transform: { runs: { runId: string }[] }; load?: unknown; failed: Record<string, unknown> }
    assert.deepEqual(summary.transform.runs.map((r) => r.runId), [summary.extract.runId])
    assert.equal(summary.load, undefined)
    assert.equal(summary.failed.stage, 'load')
    assert.equal(summary.failed.retryable, true)
    assert.match(String(summary.failed.error), /STARLINE_WAREHOUSE_URL/)
    assert.doesNotMatch(result.stdout + result.stderr, /hunter2/)
    const processed = await listAll(pipeline.ctx.processed, '')
    assert.ok(processed.some((o) => o.key.includes(summary.extract.runId)), 'the transformed run is in the lake')

    const text = await runCli(['run'], down)
    assert.equal(text.code, 75, text.stderr)
    assert.match(text.stdout, /^extract: .*\n(.|\n)*load: failed; the stages above committed what they report\n$/)
    assert.equal(text.stderr.trim().split('\n').length, 1, `one line: ${text.stderr}`)

    // The detail under the failure is at debug level: the driver's code and words, no password.
    const debug = await runCli(['run', '--log-level', 'debug'], down)
    assert.match(debug.stderr, /stage failed.*ECONNREFUSED/)
    assert.doesNotMatch(debug.stderr, /hunter2/)
  })
})

describe('starline status', () => {
  let pipeline: Pipeline

  before(async () => {
    pipeline = await fixture.pipeline({ scale: 0.05 })
    await pipeline.cycle()
  })

  it('reports per source table the rows the lake holds and the watermark, equal to the source', async () => {
    const result = await runCli(['status', '--json'], cliEnv(pipeline))
    assert.equal(result.code, 0, result.stderr)
    const status = JSON.parse(result.stdout) as PipelineStatus
    const watermark = (await pipeline.source<{ w: string }>(
      "SELECT to_char(max(last_updated), 'YYYY-MM-DD HH24:MI:SS.MS') AS w FROM (SELECT last_updated FROM sales_order UNION ALL SELECT last_updated FROM payment UNION ALL SELECT last_updated FROM purchase_order UNION ALL SELECT last_updated FROM transaction) t",
    ))[0]!.w
    assert.equal(status.source.length, pipeline.ctx.dataset.sourceTables.length)
    for (const table of status.source) {
      const rows = await count(pipeline.source, table.table)
      assert.deepEqual([table.table, table.rowsMoved, table.lastRunRows, table.quarantined], [table.table, rows, rows, 0])
      assert.ok(table.watermark! >= watermark, `${table.table}: watermark ${table.watermark} covers the newest change ${watermark}`)
    }
  })

  it('reports per warehouse table the rows loaded, held and fresh, equal to the warehouse', async () => {
    const status = JSON.parse((await runCli(['status', '--json'], cliEnv(pipeline))).stdout) as PipelineStatus
    assert.equal(status.warehouse.length, pipeline.ctx.dataset.models.length)
    for (const table of status.warehouse) {
      let rows = await count(pipeline.warehouse, table.table)
      if (table.kind === 'fact') rows += await count(pipeline.warehouse, `_starline_held_${table.table}`)
      assert.deepEqual([table.table, table.rowsMoved, table.fresh], [table.table, rows, true])
      assert.match(table.lastRunId!, /^\d{8}T\d{9}Z$/)
    }
    assert.deepEqual(status.lastFailures, [])
  })

  it('prints the same as text: both tables, pending runs, failures and incidents', async () => {
    const result = await runCli(['status'], cliEnv(pipeline))
    assert.equal(result.code, 0, result.stderr)
    for (const table of [...pipeline.ctx.dataset.sourceTables.map((t) => t.name), ...pipeline.ctx.dataset.models.map((m) => m.table.name)]) {
      assert.match(result.stdout, new RegExp(`^  ${table} `, 'm'))
    }
    assert.match(result.stdout, /pending: 0 runs to transform, 0 runs to load/)
    assert.match(result.stdout, /last failures: none recorded/)
    assert.match(result.stdout, /open incidents: none/)
  })
})

describe('--dry-run', () => {
  let pipeline: Pipeline

  before(async () => {
    pipeline = await fixture.pipeline({ scale: 0.05 })
  })

  it('counts the rows extract would copy per table, equal to the source, and writes nothing', async () => {
    const result = await runCli(['extract', '--dry-run', '--json'], cliEnv(pipeline))
    assert.equal(result.code, 0, result.stderr)
    const plan = JSON.parse(result.stdout)
    assert.equal(plan.dryRun, true)
    assert.equal(plan.window.from, null)
    for (const table of pipeline.ctx.dataset.sourceTables) {
      assert.equal(plan.tables.find((t: { table: string }) => t.table === table.name)?.rows, await count(pipeline.source, table.name), table.name)
    }
    assert.deepEqual(filesUnder(pipeline.lakeDir), [], 'no lake object, no lease')
  })

  it('lists the pending runs transform and load would take, from the manifests, and changes neither lake nor warehouse', async () => {
    const extracted = await runCli(['extract', '--json'], cliEnv(pipeline))
    assert.equal(extracted.code, 0, extracted.stderr)
    const summary = JSON.parse(extracted.stdout)
    const before = filesUnder(pipeline.lakeDir)

    const result = await runCli(['run', '--dry-run', '--json'], cliEnv(pipeline))
    assert.equal(result.code, 0, result.stderr)
    const [extractPlan, transformPlan, loadPlan] = JSON.parse(result.stdout).plans
    assert.equal(extractPlan.rows, 0, 'nothing new in the source')
    assert.deepEqual(
      transformPlan.runs.map((r: { runId: string; rows: number }) => [r.runId, r.rows]),
      [[summary.runId, summary.rows]],
    )
    assert.deepEqual(loadPlan.runs, [])
    assert.deepEqual(filesUnder(pipeline.lakeDir), before)
    const tables = await pipeline.warehouse<{ n: string }>("SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = 'public'")
    assert.equal(tables[0]!.n, '0', 'no warehouse table, not even the ledger')

    const text = await runCli(['transform', '--dry-run'], cliEnv(pipeline))
    assert.match(text.stdout, new RegExp(`transform would take 1 run, ${summary.rows.toLocaleString('en-GB')} rows`))
    assert.match(text.stdout, /dry run: nothing was written/)
  })
})

describe('starline run (one shot)', () => {
  it('takes the cycle lease: while another runner is in a cycle it refuses, retryable, and writes nothing', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    // A runner elsewhere (a continuous one) is mid-cycle.
    const other = await acquireLease(pipeline.ctx.ingestion, 'cycle', '20261203T100000000Z', { ttlMs: 600_000, holder: { host: 'elsewhere.example', pid: 7 } })
    const refused = await runCli(['run'], cliEnv(pipeline))
    assert.equal(refused.code, 75, refused.stderr)
    assert.match(refused.stderr, /Cannot start cycle run: run 20261203T100000000Z \(host elsewhere\.example, pid 7\) has held the cycle lease/)
    assert.deepEqual((await listAll(pipeline.ctx.ingestion, '')).map((o) => o.key), ['_leases/cycle.json'])
    await other.release()
    const ran = await runCli(['run'], cliEnv(pipeline))
    assert.equal(ran.code, 0, ran.stderr)
    assert.equal(await pipeline.ctx.ingestion.head('_leases/cycle.json'), undefined, 'the run released the cycle lease')
  })
})
