/**
 * `starline status [--json]`: per source table and per warehouse table,
 * from the lake's manifests and the warehouse's ledger (observe/status.ts).
 */
import type { StarlineConfig } from '../../config/config.js'
import { createLogger, logFormatFor } from '../../observe/logger.js'
import { collectStatus } from '../../observe/status.js'
import { formatStatus } from '../../observe/status-text.js'
import { openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'
import { EXIT } from './exit-status.js'

export async function statusCommand(config: StarlineConfig, print: (text: string, summary: unknown) => void): Promise<number> {
  const ctx = stageContext(config, createLogger({ level: config.logLevel, format: logFormatFor(process.stderr) }))
  const warehouse = config.warehouseUrl === undefined ? undefined : await openConfiguredWarehouse(config)
  try {
    const status = await collectStatus({
      dataset: ctx.dataset,
      ingestion: ctx.ingestion,
      processed: ctx.processed,
      ...(warehouse ? { warehouse } : {}),
      schema: config.warehouseSchema,
      freshnessTargetMs: config.freshnessTargetMs,
    })
    print(formatStatus(status), status)
    return EXIT.ok
  } finally {
    await warehouse?.close()
  }
}
