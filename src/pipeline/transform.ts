/**
 * Transform: every ingestion run without a processed run becomes one, in run
 * order, under the same run id. Each run's star tables go to Parquet in the
 * processed zone, then its manifest.
 *
 * Processed keys are fixed by (table, run id), so a crashed attempt's
 * leftovers are known without listing, and removed before the run is redone.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { dataKey, quarantineKey } from '../lake/keys.js'
import { acquireLease, type Lease } from '../lake/lease.js'
import { checkChain, checkTransformedInput, verifiedLocalPath } from '../lake/integrity.js'
import { IntegrityError } from '../lake/errors.js'
import { listRunIds, readManifest, writeManifest, type ManifestColumn, type ManifestTable, type QuarantinedTable, type StoredManifest } from '../lake/manifest.js'
import { runModels, tablesReadWithHistory, type SourceFile } from '../transform/model-runner.js'
import type { TransformedRun, TransformSummary } from '../schema/summaries.js'
import type { StageContext } from './context.js'
import { messageOf } from '../core/starline-error.js'
import { recordingFailure } from './failure.js'
import { LeaseLostError, StageAbortedError } from './errors.js'
import { newRunId } from '../core/run-id.js'

export async function transform(ctx: StageContext): Promise<TransformSummary> {
  return recordingFailure(ctx, ctx.processed, 'transform', () => transformPending(ctx))
}

async function transformPending(ctx: StageContext): Promise<TransformSummary> {
  const started = Date.now()
  const lease = await acquireLease(ctx.processed, 'transform', newRunId(), { ttlMs: ctx.leaseTtlMs })
  // Renewed while the stage works, so a run longer than STARLINE_LEASE_TTL is not taken over; release() stops it.
  lease.startRenewal({ onError: (error) => ctx.logger.warn('could not renew the transform lease; trying again', { error: messageOf(error) }) })
  try {
    const ingested = await listRunIds(ctx.ingestion)
    const processed = await listRunIds(ctx.processed)
    const done = new Set(processed)
    assertProcessedRunsWereIngested(ctx, ingested, processed)
    const pending = ingested.filter((runId) => !done.has(runId))
    const runs: TransformedRun[] = []
    if (pending.length > 0) {
      // Every earlier manifest is needed to rebuild current_ views; reading them in order checks their chain.
      const manifests = new Map<string, StoredManifest>()
      let earlier: StoredManifest | undefined
      for (const runId of ingested.filter((id) => id <= pending.at(-1)!)) {
        const stored = await readManifest(ctx.ingestion, runId, 'extract')
        checkChain(stored, earlier && { runId: earlier.manifest.runId, sha256: earlier.sha256, chained: earlier.manifest.previous !== undefined }, ctx.ingestion.root)
        manifests.set(runId, stored)
        earlier = stored
      }
      let previous = processed.length > 0 ? await readManifest(ctx.processed, processed.at(-1)!, 'transform') : undefined
      const anchor = previous && manifests.get(previous.manifest.runId)
      if (previous && anchor) checkTransformedInput(previous, anchor, ctx.ingestion.root)
      const withHistory = await tablesReadWithHistory(ctx.dataset)
      const verified = new Set<string>()
      for (const runId of pending) {
        if (ctx.signal?.aborted) throw new StageAbortedError('transform', runs.map((r) => r.runId))
        const run = await transformRun(ctx, runId, manifests, lease, previous, verified, withHistory).catch((error: unknown) => {
          // Stopped inside this run: say which earlier runs of this stage were committed.
          throw error instanceof StageAbortedError ? new StageAbortedError('transform', runs.map((r) => r.runId)) : error
        })
        runs.push(run.summary)
        previous = run.stored
        ctx.progress?.add('transform', `run ${runId}`, run.summary.rows)
      }
    }
    return { stage: 'transform', runs, rows: runs.reduce((s, r) => s + r.rows, 0), durationMs: Date.now() - started }
  } finally {
    await lease.release().catch(() => {})
  }
}

async function transformRun(
  ctx: StageContext,
  runId: string,
  manifests: ReadonlyMap<string, StoredManifest>,
  lease: Lease,
  previous: StoredManifest | undefined,
  verified: Set<string>,
  withHistory: ReadonlySet<string>,
): Promise<{ summary: TransformedRun; stored: StoredManifest }> {
  const started = Date.now()
  await removeLeftovers(ctx, runId)
  const scratch = await mkdtemp(join(ctx.scratchDir, `transform-${runId}-`))
  try {
    const input = manifests.get(runId)!
    // Every object read is checked against its manifest first; only the tables whose
    // current_ view a model reads need their earlier files at all.
    const history = new Map<string, SourceFile[]>()
    const columns = new Map<string, readonly ManifestColumn[]>()
    for (const [id, stored] of manifests) {
      if (id > runId) break
      for (const table of stored.manifest.tables) {
        columns.set(table.table, table.columns)
        if (id !== runId && !withHistory.has(table.table)) continue
        const path = await verifiedLocalPath(ctx.ingestion, table, scratch, verified)
        const file: SourceFile = { key: table.key, path, runId: id, columns: table.columns }
        history.set(table.table, [...(history.get(table.table) ?? []), file])
      }
    }
    const changed = new Map<string, SourceFile>()
    for (const table of input.manifest.tables) {
      changed.set(table.table, history.get(table.table)!.at(-1)!)
    }
    const outputs = await runModels(ctx.dataset, { runId, changed, history, columns, outputDir: scratch, ...(ctx.duckdbMemory ? { memoryLimit: ctx.duckdbMemory } : {}) })

    const quarantine: QuarantinedTable[] = []
    for (const bad of outputs.quarantine) {
      const key = quarantineKey(bad.table, runId)
      const info = await ctx.processed.put(key, createReadStream(bad.path))
      quarantine.push({ table: bad.table, key, format: 'csv', rows: bad.rows, bytes: info.size, sha256: info.sha256, columns: [], sourceKey: bad.sourceKey })
      ctx.logger.warn('rows failed validation and were quarantined', { runId, table: bad.table, rows: bad.rows, key })
    }
    const written: ManifestTable[] = []
    for (const output of outputs.models) {
      if (output.path === undefined) continue
      const key = dataKey(output.model.table.name, runId, 'parquet')
      const info = await ctx.processed.put(key, createReadStream(output.path))
      written.push({
        table: output.model.table.name,
        key,
        format: 'parquet',
        rows: output.rows,
        bytes: info.size,
        sha256: info.sha256,
        columns: output.columns,
      })
    }
    if (ctx.signal?.aborted) throw new StageAbortedError('transform')
    if (!(await lease.isHeld())) throw new LeaseLostError('transform', runId)
    const stored = await writeManifest(ctx.processed, {
      formatVersion: 1,
      runId,
      stage: 'transform',
      dataset: ctx.dataset.name,
      createdAt: new Date().toISOString(),
      input: { runId, manifestSha256: input.sha256 },
      tables: written,
      ...(quarantine.length > 0 ? { quarantine } : {}),
    }, previous)
    const rows = written.reduce((sum, t) => sum + t.rows, 0)
    ctx.logger.info('transform run committed', { runId, rows, tables: written.length })
    return {
      stored,
      summary: {
        runId,
        tables: written.map((t) => ({ table: t.table, rows: t.rows })),
        rows,
        quarantined: quarantine.map((q) => ({ table: q.table, rows: q.rows, key: q.key })),
        durationMs: Date.now() - started,
      },
    }
  } catch (error) {
    // A runner that took the lease over owns these keys now: leave them to it.
    if (await lease.isHeld().catch(() => false)) await removeLeftovers(ctx, runId).catch(() => {})
    throw error
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/**
 * Every processed run was built from an ingestion run of the same id: one
 * the ingestion zone lacks means its manifest was removed (or the zones are
 * not a pair), and extracting again would load its rows twice.
 */
export function assertProcessedRunsWereIngested(ctx: StageContext, ingested: readonly string[], processed: readonly string[]): void {
  const known = new Set(ingested)
  const orphan = processed.find((runId) => !known.has(runId))
  if (orphan !== undefined) {
    throw new IntegrityError(
      `Processed run ${orphan} in ${ctx.processed.root} has no ingestion manifest in ${ctx.ingestion.root}: ` +
        'the ingestion manifest was removed, or STARLINE_INGESTION_URL and STARLINE_PROCESSED_URL are not the two zones of one lake. ' +
        'Restore the manifest or point both settings at the same lake.',
      { context: { runId: orphan } },
    )
  }
}

async function removeLeftovers(ctx: StageContext, runId: string): Promise<void> {
  for (const model of ctx.dataset.models) {
    await ctx.processed.delete(dataKey(model.table.name, runId, 'parquet'))
  }
  for (const table of ctx.dataset.sourceTables) {
    await ctx.processed.delete(quarantineKey(table.name, runId))
  }
}
