/**
 * A whole cycle: the warehouse checked against its ledger, then extract,
 * transform every ingestion run not yet transformed, and load every
 * processed run not yet loaded. Because each
 * stage first finishes what earlier runs left, a cycle after a crash at any
 * point converges to the state one clean cycle would have produced.
 */
import { messageOf } from '../core/starline-error.js'
import { recordFailure } from '../lake/failure-record.js'
import { checkTransformedInput } from '../lake/integrity.js'
import { listRunIdsFrom, readManifest } from '../lake/manifest.js'
import { WarehouseDriftError } from '../warehouse/drift.js'
import { retryStep, type StageContext } from './context.js'
import type { RunSummary } from '../schema/summaries.js'
import { extract, type ExtractOptions } from './extract.js'
import { assertNoDrift, assertSameLake, load, type LoadOptions } from './load.js'
import { assertProcessedRunsWereIngested, transform } from './transform.js'

export interface RunOptions {
  readonly extract: ExtractOptions
  readonly load: LoadOptions
}

export async function runCycle(ctx: StageContext, options: RunOptions): Promise<RunSummary> {
  const started = Date.now()
  const driftChecked = await checkDriftFirst(ctx, options.load)
  // Before anything is extracted: the two zones must be one lake, and the lake the one that fed this
  // warehouse; a new or mistyped lake would otherwise be filled with a full extract and loaded twice.
  // The warehouse's newest loaded run is where the zones are listed from: the checks cost the same after any number of runs.
  const newestLoaded = await retryStep(ctx, 'read the ledger', () => options.load.warehouse.newestLoadedRun(options.load.schema))
  const ledger = newestLoaded === undefined ? [] : [newestLoaded]
  const loadedUpTo = newestLoaded?.runId
  const [ingested, processed] = await Promise.all([listRunIdsFrom(ctx.ingestion, loadedUpTo), listRunIdsFrom(ctx.processed, loadedUpTo)])
  assertProcessedRunsWereIngested(ctx, ingested, processed)
  const newest = processed.at(-1)
  if (newest !== undefined) {
    const [built, input] = await Promise.all([readManifest(ctx.processed, newest, 'transform'), readManifest(ctx.ingestion, newest, 'extract')])
    checkTransformedInput(built, input, ctx.ingestion.root)
  }
  await assertSameLake(ctx, ledger, processed)
  const extracted = await extract(ctx, { ...options.extract, ...(ingested.length > 0 ? { after: ingested.at(-1)! } : {}) })
  const transformed = await transform(ctx, loadedUpTo === undefined ? {} : { after: loadedUpTo })
  const loaded = await load(ctx, { ...options.load, driftChecked })
  return { extract: extracted, transform: transformed, load: loaded, durationMs: Date.now() - started }
}

/**
 * The load's drift check (warehouse/drift.ts), run as a cycle starts: a
 * warehouse every load refuses must not let the lake grow run after run.
 * Drift refuses the cycle with the load's own error, recorded as the load's
 * failure, before anything is extracted. A check that cannot run (the
 * warehouse is down) does not stop the cycle: the lake keeps up with the
 * source, and the load checks again. Returns true when the warehouse was
 * found as its ledger says: extract and transform never touch it, so the
 * load of the same cycle need not check again.
 */
export async function checkDriftFirst(ctx: StageContext, load: Pick<LoadOptions, 'warehouse' | 'schema'>): Promise<boolean> {
  // One attempt: retrying a warehouse that is down would only delay the extract.
  const { retry: _retry, ...once } = ctx
  try {
    await assertNoDrift(once, load)
    return true
  } catch (error) {
    if (!(error instanceof WarehouseDriftError)) {
      ctx.logger.debug('could not check the warehouse before the cycle; the load checks it', { error: messageOf(error) })
      return false
    }
    await recordFailure(ctx.processed, 'load', error).catch(() => undefined)
    throw error
  }
}
