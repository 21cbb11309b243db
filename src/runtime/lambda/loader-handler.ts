/**
 * The loader Lambda: on the S3 event of a processed manifest, load every
 * processed run the warehouse's ledger lacks (the stage `starline load`
 * runs). Duplicate and concurrent invocations are safe: each run is loaded
 * in one transaction with its ledger row, under the schema's lock, so a run
 * already in the ledger is skipped.
 */
// First, before anything loads pg (see define-navigator.ts): on Node 20 it saves each cold start loading undici.
import '../define-navigator.js'
import { PipelineError } from '../../pipeline/errors.js'
import { load } from '../../pipeline/load.js'
import type { LoadSummary } from '../../schema/summaries.js'
import { loadOptions } from '../pipeline-setup.js'
import { parseManifestEvent, zoneLocation, type LambdaContext } from './lambda-events.js'
import { announcedRuns, invokeStage, lockWaitWithin, tableTotals, watermarkOfRun, type HandlerResult } from './lambda-invocation.js'

export async function handler(event: unknown, context?: LambdaContext): Promise<HandlerResult<LoadSummary>> {
  return invokeStage('loader', context, async (runtime, ctx) => {
    const parsed = parseManifestEvent(event, zoneLocation(runtime.config.processedUrl), ctx.logger)
    const announced = await announcedRuns(ctx.processed, parsed.runIds, ctx.logger)
    if (announced.length === 0) {
      return { stage: 'load', runIds: [], tables: [], rows: 0, skipped: 'no processed manifest in the event' }
    }
    const warehouse = await runtime.warehouse()
    // Behind a long load (another invocation's), wait as long as this invocation can, not the engine's 30 s.
    const lockWaitMs = lockWaitWithin(context)
    const options = { ...loadOptions(runtime.config, warehouse), ...(lockWaitMs === undefined ? {} : { lockWaitMs }) }
    const summary = await load(ctx, options)
    // Only the ledger from the oldest announced run on: its last row is the newest loaded run whenever the announced ones are loaded.
    const ledger = (await warehouse.loadedRuns(options.schema, { from: [...announced].sort()[0]! })).map((row) => row.runId).sort()
    const loaded = new Set(ledger)
    const missing = announced.filter((runId) => !loaded.has(runId))
    if (missing.length > 0) {
      throw new PipelineError(`Processed run(s) ${missing.join(', ')} announced by the event are not in the warehouse ledger; the invocation is retried.`, {
        retryable: true,
      })
    }
    return {
      stage: 'load',
      summary,
      runIds: summary.runs.map((r) => r.runId),
      tables: tableTotals(summary.runs),
      rows: summary.rows,
      // What the warehouse is behind: the newest run it holds, whoever loaded it.
      watermark: await watermarkOfRun(ctx.ingestion, ledger.at(-1)),
    }
  })
}
