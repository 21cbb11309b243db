/**
 * A whole cycle: extract, then transform every ingestion run not yet
 * transformed, then load every processed run not yet loaded. Because each
 * stage first finishes what earlier runs left, a cycle after a crash at any
 * point converges to the state one clean cycle would have produced.
 */
import type { StageContext } from './context.js'
import type { RunSummary } from '../schema/summaries.js'
import { extract, type ExtractOptions } from './extract.js'
import { load, type LoadOptions } from './load.js'
import { transform } from './transform.js'

export interface RunOptions {
  readonly extract: ExtractOptions
  readonly load: LoadOptions
}

export async function runCycle(ctx: StageContext, options: RunOptions): Promise<RunSummary> {
  const started = Date.now()
  const extracted = await extract(ctx, options.extract)
  const transformed = await transform(ctx)
  const loaded = await load(ctx, options.load)
  return { extract: extracted, transform: transformed, load: loaded, durationMs: Date.now() - started }
}
