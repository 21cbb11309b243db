/**
 * The transform Lambda: on the S3 event of an ingestion manifest, transform
 * every ingestion run not yet transformed (the stage `starline transform`
 * runs), so a lost or late event is caught up by the next one.
 */
import { LeaseHeldError } from '../../lake/errors.js'
import { listRunIds } from '../../lake/manifest.js'
import { PipelineError } from '../../pipeline/errors.js'
import { transform } from '../../pipeline/transform.js'
import type { TransformSummary } from '../../schema/summaries.js'
import { parseManifestEvent, zoneLocation, type LambdaContext } from './lambda-events.js'
import { announcedRuns, invokeStage, tableTotals, watermarkOfRun, type HandlerResult } from './lambda-invocation.js'
import { whileLeaseHeld } from './lease-wait.js'

export async function handler(event: unknown, context?: LambdaContext): Promise<HandlerResult<TransformSummary>> {
  return invokeStage('transform', context, async (runtime, ctx) => {
    const parsed = parseManifestEvent(event, zoneLocation(runtime.config.ingestionUrl), ctx.logger)
    const announced = await announcedRuns(ctx.ingestion, parsed.runIds, ctx.logger)
    if (announced.length === 0) {
      return { stage: 'transform', runIds: [], tables: [], rows: 0, skipped: 'no ingestion manifest in the event' }
    }
    // Another invocation may hold the lease (a duplicate event, or the next
    // manifest's): wait for it rather than fail, then check our runs are done.
    const summary = await whileLeaseHeld(() => transform(ctx), ctx.signal, LeaseHeldError)
    const processed = new Set(await listRunIds(ctx.processed))
    const missing = announced.filter((runId) => !processed.has(runId))
    if (missing.length > 0) {
      throw new PipelineError(`Ingestion run(s) ${missing.join(', ')} announced by the event were not transformed; the invocation is retried.`, {
        retryable: true,
      })
    }
    const newest = summary.runs.at(-1)?.runId ?? announced.at(-1)
    return {
      stage: 'transform',
      summary,
      runIds: summary.runs.map((r) => r.runId),
      tables: tableTotals(summary.runs),
      rows: summary.rows,
      watermark: await watermarkOfRun(ctx.ingestion, newest),
    }
  })
}
