/**
 * A transform reads one history state (a snapshot of the current rows plus
 * the ingestion objects since) instead of every earlier run. It must give
 * exactly what full history gives, refuse a tampered snapshot naming it,
 * and keep working on a lake written before states existed.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { IntegrityError } from '../../../src/lake/errors.js'
import { listRunIds, readManifest, writeManifest, type StoredManifest } from '../../../src/lake/manifest.js'
import type { ObjectStore } from '../../../src/lake/object-store.js'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import type { StageContext } from '../../../src/pipeline/context.js'
import { extract } from '../../../src/pipeline/extract.js'
import { transform } from '../../../src/pipeline/transform.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

/** Small, so a few runs compact: the default is larger. */
const COMPACT_AFTER = 2

function fileOf(store: ObjectStore, key: string): string {
  return join(fileURLToPath(store.root), ...key.split('/'))
}

function withProcessed(ctx: StageContext): StageContext {
  return { ...ctx, processed: new FsObjectStore(pathToFileURL(mkdtempSync(join(tmpdir(), 'starline-processed-'))).href) }
}

/** Edits rows of the tables whose history models read (and an order, so facts change too), then extracts. */
async function changeAndExtract(pipeline: Pipeline, round: number): Promise<string> {
  await pipeline.source(`UPDATE address SET phone = $1, last_updated = now() WHERE address_id % 3 = $2 % 3`, [`0${round}`, round])
  await pipeline.source(`UPDATE staff SET email_address = $1 || email_address, last_updated = now() WHERE staff_id % 2 = $2 % 2`, [`r${round}.`, round])
  await pipeline.source(`UPDATE counterparty SET last_updated = now() WHERE counterparty_id % 4 = $1 % 4`, [round])
  const extracted = await extract(pipeline.ctx, extractOptions(pipeline.config))
  assert.ok(extracted.runId, `round ${round} must produce a run`)
  return extracted.runId
}

/** Every processed run's tables (or only `only`'s), as sorted row text: what a warehouse would be loaded with. */
async function processedContent(store: ObjectStore, only?: string): Promise<Record<string, string[]>> {
  const db = await openDuckDb({ scratchDir: tmpdir() })
  try {
    const content: Record<string, string[]> = {}
    for (const runId of only === undefined ? await listRunIds(store) : [only]) {
      const { manifest } = await readManifest(store, runId, 'transform')
      for (const table of manifest.tables) {
        const rows = await db.all<{ r: string }>(`SELECT (t)::VARCHAR AS r FROM read_parquet('${fileOf(store, table.key)}') t ORDER BY ALL`)
        content[`${runId}/${table.table}`] = rows.map((row) => row.r)
      }
    }
    return content
  } finally {
    db.close()
  }
}

/** A first cycle, then `rounds` runs that each change the history tables, transformed with a small compaction interval. */
async function lakeWithSnapshots(rounds: number): Promise<Pipeline> {
  const pipeline = await fixture.pipeline()
  await pipeline.cycle()
  for (let round = 1; round <= rounds; round++) {
    await changeAndExtract(pipeline, round)
    await transform(pipeline.ctx, { compactAfter: COMPACT_AFTER })
  }
  return pipeline
}

async function newestState(store: ObjectStore): Promise<StoredManifest> {
  return readManifest(store, (await listRunIds(store)).at(-1)!, 'transform')
}

describe('history state', () => {
  it('writes snapshots and gives exactly the Parquet content that full history gives', async () => {
    const pipeline = await lakeWithSnapshots(5)
    const { manifest } = await newestState(pipeline.ctx.processed)
    const snapshots = Object.entries(manifest.state?.tables ?? {}).filter(([, history]) => history.snapshot !== undefined)
    assert.ok(snapshots.length >= 3, `address, staff and counterparty compact: ${JSON.stringify(manifest.state)}`)
    for (const [, history] of snapshots) assert.ok(history.since.length < COMPACT_AFTER)

    // The same ingestion runs, transformed again into an empty zone without ever compacting: every run reads full history.
    const full = withProcessed(pipeline.ctx)
    await transform(full, { compactAfter: Number.POSITIVE_INFINITY })
    const fromFull = await newestState(full.processed)
    assert.ok(Object.values(fromFull.manifest.state?.tables ?? {}).every((history) => history.snapshot === undefined))
    const expected = await processedContent(full.processed)
    assert.ok(Object.keys(expected).length > 10)
    assert.deepEqual(await processedContent(pipeline.ctx.processed), expected)
  })

  it('refuses a tampered snapshot, naming it, and publishes nothing', async () => {
    const pipeline = await lakeWithSnapshots(3)
    const { manifest } = await newestState(pipeline.ctx.processed)
    const snapshot = Object.values(manifest.state?.tables ?? {}).find((history) => history.snapshot)?.snapshot
    assert.ok(snapshot, 'a snapshot was written')
    const path = fileOf(pipeline.ctx.processed, snapshot.key)
    const bytes = readFileSync(path)
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff
    writeFileSync(path, bytes)
    await changeAndExtract(pipeline, 9)
    const runsBefore = await listRunIds(pipeline.ctx.processed)
    await assert.rejects(transform(pipeline.ctx), (error: unknown) => {
      assert.ok(error instanceof IntegrityError, `expected an IntegrityError, got ${String(error)}`)
      assert.match(error.message, new RegExp(`"${snapshot.key}".*SHA-256 differs from its manifest`))
      return true
    })
    assert.deepEqual(await listRunIds(pipeline.ctx.processed), runsBefore)
  })

  it('refuses a snapshot swapped for another with its size and SHA-256 copied into the state, naming the manifest that wrote it', async () => {
    const pipeline = await lakeWithSnapshots(4)
    const newest = await newestState(pipeline.ctx.processed)
    const snapshot = newest.manifest.state?.tables.address?.snapshot
    assert.ok(snapshot && snapshot.runId < newest.manifest.runId, `an earlier run wrote the address snapshot: ${JSON.stringify(newest.manifest.state)}`)
    // An older snapshot of the same table: a valid file, with other rows.
    const older = (await listRunIds(pipeline.ctx.processed))
      .filter((id) => id < snapshot.runId)
      .map(async (id) => (await readManifest(pipeline.ctx.processed, id, 'transform')).manifest.state?.tables.address?.snapshot)
    const other = (await Promise.all(older)).find((s) => s !== undefined && s.runId !== snapshot.runId)
    assert.ok(other, 'an older address snapshot exists')
    writeFileSync(fileOf(pipeline.ctx.processed, snapshot.key), readFileSync(fileOf(pipeline.ctx.processed, other.key)))
    const path = fileOf(pipeline.ctx.processed, newest.key)
    const json = JSON.parse(readFileSync(path, 'utf8'))
    json.state.tables.address.snapshot = { ...json.state.tables.address.snapshot, bytes: other.bytes, sha256: other.sha256, rows: other.rows }
    writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`)
    await changeAndExtract(pipeline, 9)
    const runsBefore = await listRunIds(pipeline.ctx.processed)
    await assert.rejects(transform(pipeline.ctx), (error: unknown) => {
      assert.ok(error instanceof IntegrityError, `expected an IntegrityError, got ${String(error)}`)
      assert.match(
        error.message,
        new RegExp(`^Manifest "${newest.key}" in \\S+ lists state snapshot "${snapshot.key}" of "address" other than the one processed manifest "_manifests/${snapshot.runId}\\.json" that wrote it recorded`),
      )
      return true
    })
    assert.deepEqual(await listRunIds(pipeline.ctx.processed), runsBefore)
  })

  it('builds the first state of a lake written before states from its history, with the same content', async () => {
    const pipeline = await lakeWithSnapshots(3)
    const pending = await changeAndExtract(pipeline, 4)
    // The reference: the lake as it is (with states).
    const reference = withProcessed(pipeline.ctx)
    await transform(reference)
    // An old lake: the same processed runs, without states, chained anew.
    const old = withProcessed(pipeline.ctx)
    let previous: StoredManifest | undefined
    for (const runId of (await listRunIds(reference.processed)).filter((id) => id < pending)) {
      const { manifest } = await readManifest(reference.processed, runId, 'transform')
      const { state: _state, previous: _previous, ...withoutState } = manifest
      previous = await writeManifest(old.processed, withoutState, previous)
    }
    const summary = await transform(old)
    assert.deepEqual(summary.runs.map((run) => run.runId), [pending])
    const built = await readManifest(old.processed, pending, 'transform')
    assert.ok(built.manifest.state, 'the transform wrote a state')
    const want = await processedContent(reference.processed, pending)
    assert.ok(Object.keys(want).length > 0, 'the pending run produced tables')
    assert.deepEqual(await processedContent(old.processed, pending), want)
  })

  it('follows the whole history of a table the models start reading after an upgrade, run after run', async () => {
    const pipeline = await fixture.pipeline()
    await pipeline.cycle()
    // Changed while no model read the history of design: the state does not follow it.
    await pipeline.source("UPDATE design SET design_name = design_name || ' v2', last_updated = now() WHERE design_id = 1")
    await pipeline.cycle()
    // The upgrade: dim_design now reads current_design, the whole current table.
    const models = join(mkdtempSync(join(tmpdir(), 'starline-models-')), 'dim_design.sql')
    writeFileSync(models, 'select design_id::integer as design_id, design_name::varchar as design_name, file_location::varchar as file_location, file_name::varchar as file_name from current_design\n')
    const { dataset } = pipeline.ctx
    const upgraded: StageContext = {
      ...pipeline.ctx,
      dataset: { ...dataset, models: dataset.models.map((m) => (m.table.name === 'dim_design' ? { ...m, sqlFile: pathToFileURL(models) } : m)) },
    }
    const designs = async () => (await pipeline.source<{ r: string }>('SELECT design_id::text || design_name AS r FROM design ORDER BY 1')).map((row) => row.r).sort()
    const dimDesign = async (runId: string) => {
      const db = await openDuckDb({ scratchDir: tmpdir() })
      try {
        const table = (await readManifest(pipeline.ctx.processed, runId, 'transform')).manifest.tables.find((t) => t.table === 'dim_design')
        assert.ok(table, `run ${runId} built dim_design`)
        const rows = await db.all<{ r: string }>(`SELECT design_id::VARCHAR || design_name AS r FROM read_parquet('${fileOf(pipeline.ctx.processed, table.key)}') ORDER BY 1`)
        return rows.map((row) => row.r).sort()
      } finally {
        db.close()
      }
    }
    for (const round of [2, 3]) {
      await pipeline.source('UPDATE design SET design_name = design_name || $1, last_updated = now() WHERE design_id = $2', [` r${round}`, round])
      const { runId } = await extract(pipeline.ctx, extractOptions(pipeline.config))
      assert.ok(runId)
      const summary = await transform(upgraded)
      assert.deepEqual(summary.runs.map((run) => run.runId), [runId])
      assert.deepEqual(await dimDesign(runId), await designs(), `round ${round}: every current design, not only those changed since the upgrade`)
    }
  })
})
