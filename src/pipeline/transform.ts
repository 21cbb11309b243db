/**
 * Transform: every ingestion run without a processed run becomes one, in run
 * order, under the same run id. Each run's star tables go to Parquet in the
 * processed zone, then its manifest.
 *
 * Processed keys are fixed by (table, run id), so a crashed attempt's
 * leftovers are known without listing, and removed before the run is redone.
 */
import { createReadStream } from 'node:fs'
import { dataKey, manifestKey, quarantineKey, stateKey } from '../lake/keys.js'
import { acquireLease, type Lease } from '../lake/lease.js'
import { IntegrityError } from '../lake/errors.js'
import { listRunIdsFrom, newestRunId, readManifest, writeManifest, type ManifestTable, type QuarantinedTable, type StoredManifest } from '../lake/manifest.js'
import { runModels, tablesReadWithHistory } from '../transform/model-runner.js'
import { TransformHistory } from '../transform/transform-history.js'
import type { TransformedRun, TransformSummary } from '../schema/summaries.js'
import { removeDeadScratch, type StageContext } from './context.js'
import { makeScratchDir, removeScratchDir } from '../core/scratch-space.js'
import { messageOf } from '../core/starline-error.js'
import { recordingFailure } from './failure.js'
import { LeaseLostError, StageAbortedError } from './errors.js'
import { newRunId } from '../core/run-id.js'

export interface TransformOptions {
  /**
   * A run known to be processed (the warehouse's newest loaded run): the
   * zones are listed only after it, so the listing does not grow with history.
   */
  readonly after?: string
  /** How many ingestion objects of a table a history state carries before it compacts them into a snapshot (tests). */
  readonly compactAfter?: number
}

export async function transform(ctx: StageContext, options: TransformOptions = {}): Promise<TransformSummary> {
  return recordingFailure(ctx, ctx.processed, 'transform', () => transformPending(ctx, options))
}

async function transformPending(ctx: StageContext, options: TransformOptions): Promise<TransformSummary> {
  const started = Date.now()
  await removeDeadScratch(ctx)
  const lease = await acquireLease(ctx.processed, 'transform', newRunId(), { ttlMs: ctx.leaseTtlMs })
  // Debug lines mark the stage boundaries the crash matrix kills at (test/crash/).
  ctx.logger.debug('lease taken', { stage: 'transform', replaced: lease.replaced?.runId })
  // Renewed while the stage works, so a run longer than STARLINE_LEASE_TTL is not taken over; release() stops it.
  lease.startRenewal({ onError: (error) => ctx.logger.warn('could not renew the transform lease; trying again', { error: messageOf(error) }) })
  try {
    // Listed from the newest processed run (or the hint): runs before it were transformed, and their history is in its state.
    const from = options.after ?? (await newestRunId(ctx.processed))
    const [ingested, processed] = await Promise.all([listRunIdsFrom(ctx.ingestion, from), listRunIdsFrom(ctx.processed, from)])
    const done = new Set(processed)
    assertProcessedRunsWereIngested(ctx, ingested, processed)
    const pending = ingested.filter((runId) => !done.has(runId))
    const runs: TransformedRun[] = []
    if (pending.length > 0) {
      const withHistory = await tablesReadWithHistory(ctx.dataset)
      let previous = processed.length > 0 ? await readManifest(ctx.processed, processed.at(-1)!, 'transform') : undefined
      // What history the runs need: the newest processed run's state, or (older lakes) every earlier manifest.
      const history = new TransformHistory(ctx.ingestion, ctx.processed, ctx.dataset, withHistory, options.compactAfter)
      await history.start(previous)
      // Every pending manifest is read, and its link checked, before anything is written.
      const manifests = new Map<string, StoredManifest>()
      for (const runId of pending) manifests.set(runId, await history.follow(await readManifest(ctx.ingestion, runId, 'extract')))
      const verified = new Set<string>()
      for (const runId of pending) {
        if (ctx.signal?.aborted) throw new StageAbortedError('transform', runs.map((r) => r.runId))
        const run = await transformRun(ctx, manifests.get(runId)!, history, lease, previous, verified).catch((error: unknown) => {
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
  input: StoredManifest,
  history: TransformHistory,
  lease: Lease,
  previous: StoredManifest | undefined,
  verified: Set<string>,
): Promise<{ summary: TransformedRun; stored: StoredManifest }> {
  const started = Date.now()
  const runId = input.manifest.runId
  await removeLeftovers(ctx, runId)
  const scratch = await makeScratchDir(ctx.scratchDir, `transform-${runId}`)
  try {
    // Every object read is checked against its manifest (or the state that recorded it) first.
    const inputs = await history.inputsFor(input, scratch, verified)
    ctx.logger.debug('running the models', { runId })
    const lateTables = new Set(Object.entries(input.manifest.lateRowsFound ?? {}).filter(([, rows]) => rows > 0).map(([table]) => table))
    const outputs = await runModels(ctx.dataset, {
      runId,
      ...inputs,
      outputDir: scratch,
      ...(ctx.duckdbMemory ? { memoryLimit: ctx.duckdbMemory } : {}),
      ...(lateTables.size > 0 ? { lateTables } : {}),
    })
    const state = await history.commit(input, outputs.snapshots)

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
        // Late rows re-read may be versions the warehouse holds: the load skips those for marked facts only.
        ...(output.repeatsVersions && output.model.table.kind === 'fact' ? { repeatsVersions: true as const } : {}),
        ...(output.orderedBy === undefined ? {} : { orderedBy: output.orderedBy }),
      })
      ctx.logger.debug('transformed table', { runId, table: output.model.table.name, rows: output.rows })
    }
    if (ctx.signal?.aborted) throw new StageAbortedError('transform')
    if (!(await lease.isHeld())) throw new LeaseLostError('transform', runId)
    ctx.logger.debug('writing the manifest', { stage: 'transform', runId })
    const stored = await writeManifest(ctx.processed, {
      formatVersion: 1,
      runId,
      stage: 'transform',
      dataset: ctx.dataset.name,
      createdAt: new Date().toISOString(),
      input: { runId, manifestSha256: input.sha256 },
      tables: written,
      ...(quarantine.length > 0 ? { quarantine } : {}),
      state,
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
    await removeScratchDir(scratch)
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
  // The run is pending, so its manifest was never published; a put of it cut short may have left a temporary file.
  await ctx.processed.delete(manifestKey(runId))
  for (const model of ctx.dataset.models) {
    await ctx.processed.delete(dataKey(model.table.name, runId, 'parquet'))
  }
  for (const table of ctx.dataset.sourceTables) {
    await ctx.processed.delete(quarantineKey(table.name, runId))
    await ctx.processed.delete(stateKey(table.name, runId))
  }
}
