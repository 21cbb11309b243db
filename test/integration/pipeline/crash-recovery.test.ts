/**
 * Crash safety: a `starline run` killed (SIGKILL, no cleanup of its own) in
 * the middle of each stage, then run again, leaves the lake and the
 * warehouse exactly as one clean run does, with the lake on disk and on S3
 * (moto_server); and the lake on S3 gives the warehouse the lake on disk gives.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MANIFEST_PREFIX } from '../../../src/lake/keys.js'
import { listRunIds, readManifest } from '../../../src/lake/manifest.js'
import { listAll, type ObjectStore } from '../../../src/lake/object-store.js'
import { runCli, startCli } from '../../support/cli-process.js'
import { MOTO_MISSING } from '../../support/moto-server.js'
import { LAKE_KINDS, PipelineFixture, warehouseSnapshot, type LakeKind, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
const SCALE = 1
before(() => fixture.start())
after(() => fixture.stop())

function cliEnv(pipeline: Pipeline): Record<string, string> {
  return {
    ...pipeline.lakeEnv,
    STARLINE_SOURCE_URL: pipeline.sourceUrl,
    STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
    STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
    STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
    STARLINE_EXTRACT_LAG: '0ms',
  }
}

/** Visible objects of a zone whose key ends with `extension`, on any lake. */
async function keysEnding(store: ObjectStore, extension: string): Promise<string[]> {
  return (await listAll(store, '')).map((o) => o.key).filter((key) => key.endsWith(extension))
}

/** Every object is a manifest or listed by one, and no lease is left: nothing half-written is visible. */
async function assertNoOrphans(store: ObjectStore): Promise<void> {
  const listed = new Set<string>()
  for (const runId of await listRunIds(store)) {
    const { manifest } = await readManifest(store, runId)
    for (const table of [...manifest.tables, ...(manifest.quarantine ?? [])]) listed.add(table.key)
    for (const key of Object.values(manifest.reconciliation?.hashes ?? {})) listed.add(key)
    for (const { key } of Object.values(manifest.lateRows?.summaries ?? {})) listed.add(key)
  }
  const orphans = (await listAll(store, '')).map((o) => o.key).filter((key) => !key.startsWith(MANIFEST_PREFIX) && !listed.has(key))
  assert.deepEqual(orphans, [], `objects no manifest lists in ${store.root}`)
}

/** The lake's content, without the run ids (which differ between two runs). */
async function lakeContent(store: ObjectStore): Promise<string[]> {
  const content: string[] = []
  for (const runId of await listRunIds(store)) {
    const { manifest } = await readManifest(store, runId)
    for (const table of manifest.tables) content.push(`${table.table} ${table.rows} ${table.format === 'csv' ? table.sha256 : ''}`)
  }
  return content.sort()
}

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

async function ledgerRuns(p: Pipeline): Promise<number> {
  const [row] = await p.warehouse<{ n: number }>("SELECT count(*)::int AS n FROM _starline_loads")
  return row?.n ?? 0
}

/** When to kill, and what must be true of the state the kill left (so the test knows it hit mid-stage). */
const KILL_POINTS = {
  'while extracting (data written, no manifest yet)': {
    reached: async (p: Pipeline) =>
      (await keysEnding(p.ctx.ingestion, '.csv')).length > 0 && (await listRunIds(p.ctx.ingestion)).length === 0,
    left: async (p: Pipeline) => (await listRunIds(p.ctx.ingestion)).length === 0,
  },
  'while transforming (Parquet written, no manifest yet)': {
    reached: async (p: Pipeline) => (await keysEnding(p.ctx.processed, '.parquet')).length > 0,
    left: async (p: Pipeline) => (await listRunIds(p.ctx.processed)).length === 0,
  },
  'while loading (COPY into the warehouse under way)': {
    reached: async (p: Pipeline) => {
      const rows = await p.warehouse<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY % FROM STDIN%' AND pid <> pg_backend_pid()",
      )
      return (rows[0]?.n ?? 0) > 0
    },
    left: async (p: Pipeline) => (await ledgerRuns(p)) === 0,
  },
} as const

const cleanRuns = new Map<LakeKind, { pipeline: Pipeline; snapshot: Record<string, string[]> }>()

for (const lake of LAKE_KINDS) describe(`a run killed midway, then run again (lake on ${lake})`, { skip: lake === 's3' ? MOTO_MISSING : undefined }, () => {
  let clean: Pipeline
  let cleanSnapshot: Record<string, string[]>

  before(async () => {
    clean = await fixture.pipeline({ scale: SCALE, lake })
    const result = await runCli(['run'], cliEnv(clean))
    assert.equal(result.code, 0, result.stderr)
    cleanSnapshot = await warehouseSnapshot(clean)
    cleanRuns.set(lake, { pipeline: clean, snapshot: cleanSnapshot })
  })

  for (const [point, { reached, left }] of Object.entries(KILL_POINTS)) {
    it(`ends as one clean run when killed ${point}`, async () => {
      const pipeline = await fixture.pipeline({ scale: SCALE, lake })
      const { child, done } = startCli(['run'], cliEnv(pipeline))
      await waitFor(() => reached(pipeline), point)
      child.kill('SIGKILL')
      const killed = await done
      assert.equal(killed.signal, 'SIGKILL', 'the run was killed before it finished')
      assert.ok(await left(pipeline), 'the kill left the stage unfinished')

      const rerun = await runCli(['run'], cliEnv(pipeline))
      assert.equal(rerun.code, 0, rerun.stderr)
      assert.deepEqual(await warehouseSnapshot(pipeline), cleanSnapshot)
      assert.deepEqual(await lakeContent(pipeline.ctx.ingestion), await lakeContent(clean.ctx.ingestion))
      assert.deepEqual(await lakeContent(pipeline.ctx.processed), await lakeContent(clean.ctx.processed))
      await assertNoOrphans(pipeline.ctx.ingestion)
      await assertNoOrphans(pipeline.ctx.processed)
    })
  }
})

describe('a lake on S3', { skip: MOTO_MISSING }, () => {
  it('gives the warehouse and lake content a lake on disk gives, after a clean CLI run', async () => {
    const onDisk = cleanRuns.get('fs')
    const onS3 = cleanRuns.get('s3')
    assert.ok(onDisk && onS3, 'both clean runs ran')
    assert.deepEqual(onS3.snapshot, onDisk.snapshot)
    assert.deepEqual(await lakeContent(onS3.pipeline.ctx.ingestion), await lakeContent(onDisk.pipeline.ctx.ingestion))
    assert.deepEqual(await lakeContent(onS3.pipeline.ctx.processed), await lakeContent(onDisk.pipeline.ctx.processed))
    assert.match(onS3.pipeline.ctx.ingestion.root, /^s3:\/\//)
  })
})
