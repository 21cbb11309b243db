/**
 * Every stage reads the lake against the manifests that published it: a
 * truncated, edited or rewritten object, a manifest of another run or zone,
 * and a removed or rewritten manifest are refused with a message naming
 * the object, and nothing is written downstream.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { simulateActivity } from '../../../src/datasets/totesys/simulator.js'
import { IntegrityError } from '../../../src/lake/errors.js'
import { manifestKey } from '../../../src/lake/keys.js'
import { listRunIds, readManifest } from '../../../src/lake/manifest.js'
import type { ObjectStore } from '../../../src/lake/object-store.js'
import { extract } from '../../../src/pipeline/extract.js'
import { load } from '../../../src/pipeline/load.js'
import { transform } from '../../../src/pipeline/transform.js'
import { silentLogger } from '../../../src/observe/logger.js'
import { runCycle } from '../../../src/pipeline/run.js'
import { extractOptions, loadOptions, localConfig, openConfiguredWarehouse, stageContext } from '../../../src/runtime/pipeline-setup.js'
import { PipelineFixture, warehouseSnapshot, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

function fileOf(store: ObjectStore, key: string): string {
  return join(fileURLToPath(store.root), ...key.split('/'))
}

/** A first full cycle, then a simulated day extracted (not yet transformed). */
async function pipelineWithPendingRun(): Promise<{ pipeline: Pipeline; runId: string }> {
  const pipeline = await fixture.pipeline()
  await pipeline.cycle()
  const client = new pg.Client({ connectionString: pipeline.sourceUrl })
  await client.connect()
  try {
    await simulateActivity(client, { days: 1, seed: 7 })
  } finally {
    await client.end()
  }
  const extracted = await extract(pipeline.ctx, extractOptions(pipeline.config))
  assert.ok(extracted.runId, 'the simulated day must produce a run')
  return { pipeline, runId: extracted.runId }
}

async function assertTransformRefuses(pipeline: Pipeline, pattern: RegExp): Promise<void> {
  const before = await listRunIds(pipeline.ctx.processed)
  await assert.rejects(transform(pipeline.ctx), (error: unknown) => {
    assert.ok(error instanceof IntegrityError, `expected an IntegrityError, got ${String(error)}`)
    assert.match(error.message, pattern)
    assert.equal(error.retryable, false)
    return true
  })
  assert.deepEqual(await listRunIds(pipeline.ctx.processed), before, 'nothing may be published after a refusal')
}

/** `withoutDriftCheck`: as if the drift check (warehouse-drift.test.ts) had missed it, to test the version key behind it. */
async function loadWith(pipeline: Pipeline, options: { readonly withoutDriftCheck?: boolean } = {}) {
  const opened = await openConfiguredWarehouse(pipeline.config)
  const warehouse = options.withoutDriftCheck
    ? new Proxy(opened, {
        get: (target, key) => {
          if (key === 'checkAgainstLedger') return async () => []
          const value = Reflect.get(target, key) as unknown
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
    : opened
  try {
    return await load(pipeline.ctx, loadOptions(pipeline.config, warehouse))
  } finally {
    await opened.close()
  }
}

describe('lake integrity', () => {
  it('refuses a truncated ingestion object, naming it', async () => {
    const { pipeline, runId } = await pipelineWithPendingRun()
    const { manifest } = await readManifest(pipeline.ctx.ingestion, runId)
    const table = manifest.tables[0]!
    const path = fileOf(pipeline.ctx.ingestion, table.key)
    writeFileSync(path, readFileSync(path).subarray(0, table.bytes - 10))
    await assertTransformRefuses(pipeline, new RegExp(`"${table.key}".*${table.bytes - 10} bytes where its manifest says ${table.bytes}`))
  })

  it('refuses an ingestion object edited in place (same size, other bytes)', async () => {
    const { pipeline, runId } = await pipelineWithPendingRun()
    const { manifest } = await readManifest(pipeline.ctx.ingestion, runId)
    const table = manifest.tables.find((t) => t.table === 'payment') ?? manifest.tables[0]!
    const path = fileOf(pipeline.ctx.ingestion, table.key)
    const bytes = readFileSync(path)
    const last = bytes.length - 2 // a digit of the last row, before its newline
    bytes[last] = bytes[last] === 0x31 ? 0x32 : 0x31
    writeFileSync(path, bytes)
    await assertTransformRefuses(pipeline, /SHA-256 differs from its manifest/)
  })

  it('refuses a manifest that names another run', async () => {
    const { pipeline, runId } = await pipelineWithPendingRun()
    const [first] = await listRunIds(pipeline.ctx.ingestion)
    writeFileSync(fileOf(pipeline.ctx.ingestion, manifestKey(runId)), readFileSync(fileOf(pipeline.ctx.ingestion, manifestKey(first!))))
    await assertTransformRefuses(pipeline, new RegExp(`says it is run ${first}`))
  })

  it('refuses a manifest of the other stage (zones swapped)', async () => {
    const { pipeline, runId } = await pipelineWithPendingRun()
    const [first] = await listRunIds(pipeline.ctx.processed)
    const processed = JSON.parse(readFileSync(fileOf(pipeline.ctx.processed, manifestKey(first!)), 'utf8')) as Record<string, unknown>
    writeFileSync(fileOf(pipeline.ctx.ingestion, manifestKey(runId)), JSON.stringify({ ...processed, runId }))
    await assertTransformRefuses(pipeline, /transform manifest in a zone of extract runs/)
  })

  it('refuses a chain whose earlier manifest was rewritten to list fewer tables', async () => {
    const { pipeline } = await pipelineWithPendingRun()
    const [first] = await listRunIds(pipeline.ctx.ingestion)
    const path = fileOf(pipeline.ctx.ingestion, manifestKey(first!))
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { tables: unknown[] }
    writeFileSync(path, `${JSON.stringify({ ...manifest, tables: manifest.tables.slice(1) }, null, 2)}\n`)
    await assertTransformRefuses(pipeline, new RegExp(`manifest of run ${first} .* is not the one run .* recorded`))
  })

  it('refuses a manifest without a link to its predecessor after chained ones', async () => {
    const { pipeline } = await pipelineWithPendingRun()
    // A third run, so the manifest before the newest is itself chained.
    await pipeline.source("UPDATE design SET design_name = 'third run', last_updated = clock_timestamp()::timestamp(3) WHERE design_id = 1")
    const third = await extract(pipeline.ctx, extractOptions(pipeline.config))
    assert.ok(third.runId)
    const path = fileOf(pipeline.ctx.ingestion, manifestKey(third.runId))
    const { previous, ...unlinked } = JSON.parse(readFileSync(path, 'utf8')) as { previous?: { runId: string } }
    assert.ok(previous, 'the run was chained')
    writeFileSync(path, `${JSON.stringify(unlinked, null, 2)}\n`)
    await assertTransformRefuses(pipeline, new RegExp(`"${manifestKey(third.runId)}" .* names no previous run, but run ${previous.runId} before it is chained`))
  })

  it('refuses to go on when an ingestion manifest that was transformed is removed', async () => {
    const { pipeline } = await pipelineWithPendingRun()
    const [first] = await listRunIds(pipeline.ctx.ingestion)
    rmSync(fileOf(pipeline.ctx.ingestion, manifestKey(first!)))
    await assertTransformRefuses(pipeline, new RegExp(`Processed run ${first} .* has no ingestion manifest`))
  })

  it('refuses a rewritten Parquet file at load and leaves the warehouse as it was', async () => {
    const { pipeline, runId } = await pipelineWithPendingRun()
    await transform(pipeline.ctx)
    const { manifest } = await readManifest(pipeline.ctx.processed, runId)
    const fact = manifest.tables.find((t) => t.table.startsWith('fact_'))!
    const other = manifest.tables.find((t) => t !== fact)!
    // A valid Parquet file, but not the one the manifest published.
    writeFileSync(fileOf(pipeline.ctx.processed, fact.key), readFileSync(fileOf(pipeline.ctx.processed, other.key)))
    const before = await warehouseSnapshot(pipeline)
    await assert.rejects(loadWith(pipeline), (error: unknown) => error instanceof IntegrityError && error.message.includes(fact.key))
    assert.deepEqual(await warehouseSnapshot(pipeline), before)
  })

  it('refuses to load after a loaded processed manifest was rewritten', async () => {
    const { pipeline } = await pipelineWithPendingRun()
    const [first] = await listRunIds(pipeline.ctx.processed)
    const path = fileOf(pipeline.ctx.processed, manifestKey(first!))
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n$/, '\n\n'))
    await transform(pipeline.ctx)
    const before = await warehouseSnapshot(pipeline)
    await assert.rejects(loadWith(pipeline), new RegExp(`loaded run ${first}, but .* holds a different manifest for it than the one loaded`))
    assert.deepEqual(await warehouseSnapshot(pipeline), before)
  })

  it('refuses a new lake for a warehouse another lake fed, before extracting anything', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    const before = await warehouseSnapshot(pipeline)
    const otherLake = mkdtempSync(join(tmpdir(), 'starline-other-lake-'))
    try {
      const config = localConfig({ sourceUrl: pipeline.sourceUrl, warehouseUrl: pipeline.warehouseUrl }, otherLake, { STARLINE_EXTRACT_LAG: '0ms' })
      const ctx = stageContext(config, silentLogger)
      const warehouse = await openConfiguredWarehouse(config)
      try {
        await assert.rejects(
          runCycle(ctx, { extract: extractOptions(config), load: loadOptions(config, warehouse) }),
          /The warehouse has loaded run \d+T\d+Z, but file:.* has no such run: this is not the lake that fed the warehouse/,
        )
      } finally {
        await warehouse.close()
      }
      assert.deepEqual(await listRunIds(ctx.ingestion), [], 'nothing may be extracted into the wrong lake')
      assert.deepEqual(await warehouseSnapshot(pipeline), before)
    } finally {
      rmSync(otherLake, { recursive: true, force: true })
    }
  })

  it('refuses zones of two different lakes before extracting anything', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    const otherLake = mkdtempSync(join(tmpdir(), 'starline-other-lake-'))
    try {
      const config = localConfig({ sourceUrl: pipeline.sourceUrl, warehouseUrl: pipeline.warehouseUrl }, otherLake, {
        STARLINE_EXTRACT_LAG: '0ms',
        STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      })
      const ctx = stageContext(config, silentLogger)
      const warehouse = await openConfiguredWarehouse(config)
      try {
        await assert.rejects(runCycle(ctx, { extract: extractOptions(config), load: loadOptions(config, warehouse) }), /has no ingestion manifest/)
      } finally {
        await warehouse.close()
      }
      assert.deepEqual(await listRunIds(ctx.ingestion), [])
    } finally {
      rmSync(otherLake, { recursive: true, force: true })
    }
  })

  it('refuses to load every fact again after the ledger was emptied', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    await pipeline.warehouse('DELETE FROM _starline_load_tables')
    await pipeline.warehouse('DELETE FROM _starline_loads')
    const before = await warehouseSnapshot(pipeline)
    await assert.rejects(loadWith(pipeline), /"_starline_loads" lists no runs, but tables hold rows it does not vouch for .*`starline rebuild`/)
    // Behind the drift check, the version key refuses the double load too.
    await assert.rejects(loadWith(pipeline, { withoutDriftCheck: true }), /fact_\w+.*already holds these fact versions/)
    assert.deepEqual(await warehouseSnapshot(pipeline), before)
  })

  it('refuses a cycle after the newest ingestion manifest was rewritten (its watermark moved back), before extracting', async () => {
    const { pipeline } = await pipelineWithPendingRun()
    await pipeline.cycle()
    const ids = await listRunIds(pipeline.ctx.ingestion)
    const [earlier, newest] = [ids.at(-2)!, ids.at(-1)!]
    const path = fileOf(pipeline.ctx.ingestion, manifestKey(newest))
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { watermark: { to: string } }
    const { manifest: before } = await readManifest(pipeline.ctx.ingestion, earlier)
    writeFileSync(path, `${JSON.stringify({ ...manifest, watermark: { ...manifest.watermark, to: before.watermark!.to } }, null, 2)}\n`)
    await assert.rejects(pipeline.cycle(), new RegExp(`manifest "_manifests/${newest}.json" .* is not the one processed run ${newest} was built from`))
    assert.deepEqual(await listRunIds(pipeline.ctx.ingestion), ids, 'nothing may be extracted from a rewritten watermark')
  })

  it('gives fact tables made before the version key one, so an emptied ledger cannot double them either', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    // As a warehouse created by an earlier starline: no unique version key on the facts.
    const keys = await pipeline.warehouse<{ t: string; name: string }>(
      "SELECT conrelid::regclass::text AS t, conname AS name FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text LIKE 'fact_%'",
    )
    assert.equal(keys.length, 3)
    for (const key of keys) await pipeline.warehouse(`ALTER TABLE ${key.t} DROP CONSTRAINT ${key.name}`)
    await loadWith(pipeline) // ensureTables adds the key back
    await pipeline.warehouse('DELETE FROM _starline_load_tables')
    await pipeline.warehouse('DELETE FROM _starline_loads')
    const before = await warehouseSnapshot(pipeline)
    await assert.rejects(loadWith(pipeline, { withoutDriftCheck: true }), /already holds these fact versions/)
    assert.deepEqual(await warehouseSnapshot(pipeline), before)
  })
})
