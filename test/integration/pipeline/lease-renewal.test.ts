/**
 * Leases at the stage level: a transform that runs longer than its lease's
 * time to live keeps the lease (it renews it while it works), and a transform
 * whose lease is taken over publishes nothing. The lake is slowed down, not
 * the clock: each Parquet put waits, so the run outlasts the TTL for sure.
 * Both on disk and on S3 (moto_server).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { LeaseHeldError } from '../../../src/lake/errors.js'
import { leaseKey } from '../../../src/lake/keys.js'
import { acquireLease } from '../../../src/lake/lease.js'
import { listRunIds } from '../../../src/lake/manifest.js'
import type { ObjectStore } from '../../../src/lake/object-store.js'
import { extract } from '../../../src/pipeline/extract.js'
import { LeaseLostError } from '../../../src/pipeline/errors.js'
import { transform } from '../../../src/pipeline/transform.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import type { TransformSummary } from '../../../src/schema/summaries.js'
import { MOTO_MISSING, useEnv } from '../../support/moto-server.js'
import { LAKE_KINDS, PipelineFixture } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const TTL_MS = 1000
/** A runner on another host: it judges a lease by its expiry alone. */
const ELSEWHERE = { host: 'another-runner.example', pid: 1 }

/** `store`, with each Parquet put held back `delayMs` and `onPut` told first. */
function slowParquet(store: ObjectStore, delayMs: number, onPut: () => void = () => {}): ObjectStore {
  return {
    root: store.root,
    put: async (key, body) => {
      if (key.endsWith('.parquet')) {
        onPut()
        await new Promise((resolve) => setTimeout(resolve, delayMs))
      }
      return store.put(key, body)
    },
    get: (key) => store.get(key),
    getBytes: (key) => store.getBytes(key),
    getVersioned: (key) => store.getVersioned(key),
    replaceIf: (key, body, version) => store.replaceIf(key, body, version),
    deleteIf: (key, version) => store.deleteIf(key, version),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    localPath: (key, scratchDir) => store.localPath(key, scratchDir),
  }
}

for (const lake of LAKE_KINDS) describe(`a stage running longer than its lease (lake on ${lake})`, { skip: lake === 's3' ? MOTO_MISSING : undefined }, () => {
  it('renews the lease, so a runner elsewhere cannot take it over, and commits', async () => {
    const pipeline = await fixture.pipeline({ lake })
    await extract(pipeline.ctx, extractOptions(pipeline.config))
    let started!: () => void
    const putting = new Promise<void>((resolve) => (started = resolve))
    const processed = slowParquet(pipeline.ctx.processed, 400, () => started())
    // As on Lambda, where a lease is judged by its expiry alone (a live pid on this host would keep it anyway).
    const undo = useEnv({ AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/03/[$LATEST]renewal', AWS_LAMBDA_FUNCTION_NAME: 'starline-transform' })
    let summary: TransformSummary | undefined
    try {
      const run = transform({ ...pipeline.ctx, processed, leaseTtlMs: TTL_MS })
      await putting
      // Past twice the TTL: an unrenewed lease would have expired by now.
      await new Promise((resolve) => setTimeout(resolve, 2 * TTL_MS))
      await assert.rejects(acquireLease(pipeline.ctx.processed, 'transform', '20990101T000000000Z', { ttlMs: TTL_MS, holder: ELSEWHERE }), LeaseHeldError)
      summary = await run
    } finally {
      undo()
    }
    assert.equal(summary?.runs.length, 1)
    assert.deepEqual(await listRunIds(pipeline.ctx.processed), await listRunIds(pipeline.ctx.ingestion))
    assert.equal(await pipeline.ctx.processed.head(leaseKey('transform')), undefined, 'the lease is released')
  })

  it('publishes nothing once its lease has been taken over', async () => {
    const pipeline = await fixture.pipeline({ lake })
    await extract(pipeline.ctx, extractOptions(pipeline.config))
    let started!: () => void
    const putting = new Promise<void>((resolve) => (started = resolve))
    const processed = slowParquet(pipeline.ctx.processed, 200, () => started())
    const run = transform({ ...pipeline.ctx, processed, leaseTtlMs: 60_000 })
    await putting
    // As a runner elsewhere would after this one stopped renewing for a whole TTL: swap the lease out.
    const key = leaseKey('transform')
    const held = (await pipeline.ctx.processed.getVersioned(key))!
    const theirs = JSON.stringify({ ...JSON.parse(held.bytes.toString('utf8')), runId: '20990101T000000000Z', ...ELSEWHERE })
    assert.ok((await pipeline.ctx.processed.replaceIf(key, theirs, held.version)) !== undefined)
    await assert.rejects(run, LeaseLostError)
    assert.deepEqual(await listRunIds(pipeline.ctx.processed), [], 'no processed manifest')
    assert.equal((await pipeline.ctx.processed.getBytes(key)).toString('utf8'), theirs, 'the other runner keeps its lease')
  })
})
