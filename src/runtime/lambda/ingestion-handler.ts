/**
 * The ingestion Lambda: on an EventBridge schedule, extract what changed in
 * the source into the ingestion zone (the stage `starline extract` runs).
 * When another extract is running (a duplicated schedule event, or a run
 * longer than the schedule's rate), this tick is left to it.
 */
import { LeaseHeldError } from '../../lake/errors.js'
import { latestManifest } from '../../lake/manifest.js'
import { extract } from '../../pipeline/extract.js'
import type { ExtractSummary } from '../../schema/summaries.js'
import { extractOptions } from '../pipeline-setup.js'
import { parseScheduledEvent, type LambdaContext } from './lambda-events.js'
import { invokeStage, type HandlerResult } from './lambda-invocation.js'

export async function handler(event: unknown, context?: LambdaContext): Promise<HandlerResult<ExtractSummary>> {
  return invokeStage('ingestion', context, async (runtime, ctx) => {
    const { manual } = parseScheduledEvent(event)
    if (manual) ctx.logger.info('invoked without a scheduled event: extracting as scheduled')
    let summary: ExtractSummary
    try {
      summary = await extract(ctx, extractOptions(runtime.config))
    } catch (error) {
      // Held by a live runner (a dead one's lease is taken over inside extract).
      if (!(error instanceof LeaseHeldError)) throw error
      ctx.logger.warn('another extract is running: this scheduled tick is left to it', { reason: error.message })
      return { stage: 'extract', runIds: [], tables: [], rows: 0, skipped: 'another extract holds the lease' }
    }
    // Nothing changed: the freshest watermark is still the newest run's.
    const watermark = summary.window?.to ?? (await latestManifest(ctx.ingestion, 'extract'))?.manifest.watermark?.to
    return {
      stage: 'extract',
      summary,
      runIds: summary.runId ? [summary.runId] : [],
      tables: summary.tables.map((t) => ({ table: t.table, rows: t.rows })),
      rows: summary.rows,
      watermark,
    }
  })
}
