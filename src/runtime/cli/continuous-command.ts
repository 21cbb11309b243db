/**
 * `starline run --every 5m` / `--cron "<expr>"`: cycles on a schedule until
 * Ctrl-C or SIGTERM. Each cycle prints its summary (one JSON line each with
 * --json); a failed cycle is printed and alerted, and the schedule goes on.
 */
import { requireSetting, type StarlineConfig } from '../../config/config.js'
import { messageOf } from '../../core/starline-error.js'
import { createLogger, logFormatFor } from '../../observe/logger.js'
import { createProgress } from '../../observe/progress.js'
import { formatRun } from '../../observe/summary-text.js'
import { observedCycle } from '../observed-cycle.js'
import { openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'
import { cronSchedule, everySchedule, runContinuously } from '../scheduler.js'
import { EXIT } from './exit-status.js'

export interface ContinuousFlags {
  readonly every?: string
  readonly cron?: string
  readonly json?: boolean
  readonly acceptSchemaChange?: boolean
}

export async function continuousCommand(config: StarlineConfig, flags: ContinuousFlags, signal: AbortSignal): Promise<number> {
  const { schedule } = flags.cron !== undefined ? cronSchedule(flags.cron) : everySchedule(flags.every!)
  requireSetting(config, 'sourceUrl')
  requireSetting(config, 'warehouseUrl')
  const logger = createLogger({ level: config.logLevel, format: logFormatFor(process.stderr) })
  const ctx = stageContext(config, logger, { signal, progress: createProgress(process.stderr) })
  const warehouse = await openConfiguredWarehouse(config)
  const say = (text: string) => process.stdout.write(`${text}\n`)
  if (!flags.json) say(`run: continuous mode, ${flags.cron !== undefined ? `cron "${flags.cron}" (UTC)` : `every ${flags.every}`}; Ctrl-C or SIGTERM stops it`)
  try {
    const cycles = await runContinuously({
      schedule,
      lockStore: ctx.ingestion,
      lockTtlMs: config.leaseTtlMs,
      signal,
      logger,
      cycle: () => observedCycle({ config, ctx, warehouse, acceptSchemaChange: flags.acceptSchemaChange ?? false, continuous: true }),
      onCycle: (report) => {
        if (flags.json) return say(JSON.stringify(report))
        const head = `== cycle ${report.cycle} at ${report.startedAt} ==`
        if (report.summary) say(`${head}\n${formatRun(report.summary)}`)
        else if (report.skipped) say(`${head}\nskipped: ${report.skipped}`)
        else if (report.stopped) say(`${head}\nstopped: ${report.stopped}`)
        else say(`${head}\nfailed: ${report.error}`)
      },
    })
    if (!flags.json) say(`run: stopped after ${cycles} cycle${cycles === 1 ? '' : 's'}`)
    return EXIT.ok
  } catch (error) {
    logger.error('continuous mode stopped on an error', { error: messageOf(error) })
    throw error
  } finally {
    await warehouse.close()
  }
}
