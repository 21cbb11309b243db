/**
 * The ingestion Lambda: on an EventBridge schedule, extract what changed in
 * the source into the ingestion zone (the stage `starline extract` runs).
 */
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
    const summary = await extract(ctx, extractOptions(runtime.config))
    // Nothing changed: the freshest watermark is still the newest run's.
    const watermark = summary.window?.to ?? (await latestManifest(ctx.ingestion))?.manifest.watermark?.to
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
