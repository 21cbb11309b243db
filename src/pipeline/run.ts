/**
 * A whole cycle: extract, then transform every ingestion run not yet
 * transformed, then load every processed run not yet loaded. Because each
 * stage first finishes what earlier runs left, a cycle after a crash at any
 * point converges to the state one clean cycle would have produced.
 */
import { checkTransformedInput } from '../lake/integrity.js'
import { listRunIdsFrom, readManifest } from '../lake/manifest.js'
import { retryStep, type StageContext } from './context.js'
import type { RunSummary } from '../schema/summaries.js'
import { extract, type ExtractOptions } from './extract.js'
import { assertSameLake, load, type LoadOptions } from './load.js'
import { assertProcessedRunsWereIngested, transform } from './transform.js'

export interface RunOptions {
  readonly extract: ExtractOptions
  readonly load: LoadOptions
}

export async function runCycle(ctx: StageContext, options: RunOptions): Promise<RunSummary> {
  const started = Date.now()
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
  const loaded = await load(ctx, options.load)
  return { extract: extracted, transform: transformed, load: loaded, durationMs: Date.now() - started }
}
