/**
 * A whole cycle: extract, then transform every ingestion run not yet
 * transformed, then load every processed run not yet loaded. Because each
 * stage first finishes what earlier runs left, a cycle after a crash at any
 * point converges to the state one clean cycle would have produced.
 */
import { checkTransformedInput } from '../lake/integrity.js'
import { listRunIds, readManifest } from '../lake/manifest.js'
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
  const [ingested, processed] = await Promise.all([listRunIds(ctx.ingestion), listRunIds(ctx.processed)])
  assertProcessedRunsWereIngested(ctx, ingested, processed)
  const newest = processed.at(-1)
  if (newest !== undefined) {
    const [built, input] = await Promise.all([readManifest(ctx.processed, newest, 'transform'), readManifest(ctx.ingestion, newest, 'extract')])
    checkTransformedInput(built, input, ctx.ingestion.root)
  }
  const ledger = await retryStep(ctx, 'read the ledger', () => options.load.warehouse.loadedRuns(options.load.schema))
  await assertSameLake(ctx, ledger, processed)
  const extracted = await extract(ctx, options.extract)
  const transformed = await transform(ctx)
  const loaded = await load(ctx, options.load)
  return { extract: extracted, transform: transformed, load: loaded, durationMs: Date.now() - started }
}
