/**
 * `starline rebuild [--yes] [--dry-run]`: reload the warehouse from the
 * lake's processed zone into fresh tables and swap them in (see
 * pipeline/rebuild.ts). It replaces every starline table of the schema, so
 * it asks first: on a terminal it waits for "yes"; without one (cron, CI) it
 * refuses unless --yes says so, and prints what it would have done.
 */
import { createInterface } from 'node:readline/promises'
import { requireSetting, type StarlineConfig } from '../../config/config.js'
import { createLogger, logFormatFor } from '../../observe/logger.js'
import { createProgress } from '../../observe/progress.js'
import { rebuild, type RebuildSummary } from '../../pipeline/rebuild.js'
import { openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'
import { EXIT } from './exit-status.js'

export interface RebuildFlags {
  readonly yes?: boolean
  readonly dryRun?: boolean
}

export async function rebuildCommand(
  config: StarlineConfig,
  flags: RebuildFlags,
  signal: AbortSignal,
  print: (text: string, summary: unknown) => void,
): Promise<number> {
  requireSetting(config, 'warehouseUrl')
  const logger = createLogger({ level: config.logLevel, format: logFormatFor(process.stderr) })
  const ctx = stageContext(config, logger, { signal, progress: createProgress(process.stderr) })
  const warehouse = await openConfiguredWarehouse(config)
  try {
    const options = { warehouse, schema: config.warehouseSchema }
    const plan = await rebuild(ctx, { ...options, dryRun: true })
    if (flags.dryRun) {
      print(`Dry run: ${describePlan(plan)} Nothing was changed.`, plan)
      return EXIT.ok
    }
    if (!flags.yes) {
      if (!process.stdin.isTTY) {
        process.stderr.write(`starline rebuild: ${describePlan(plan)} Nothing was changed: run again with --yes to go ahead (no terminal to ask on).\n`)
        return EXIT.usage
      }
      if (!(await confirm(`${describePlan(plan)} Type "yes" to go ahead: `))) {
        process.stderr.write('starline rebuild: not confirmed; nothing was changed.\n')
        return EXIT.failure
      }
    }
    const summary = await rebuild(ctx, options)
    print(formatRebuild(summary), summary)
    return EXIT.ok
  } finally {
    await warehouse.close()
  }
}

function describePlan(plan: RebuildSummary): string {
  const drift = plan.drift.length === 0 ? 'The warehouse agrees with its ledger; ' : `The warehouse differs from its ledger (${plan.drift.map((f) => `"${f.table}" ${f.problem}`).join('; ')}); `
  return (
    `${drift}rebuild would load all ${plan.runs} processed runs of the lake into schema "${plan.buildSchema}", then replace the starline tables, ` +
    `views and ledger of schema "${plan.schema}" (now ${plan.previousRuns} runs in its ledger) with them in one transaction; ` +
    'the current tables stay until then.'
  )
}

function formatRebuild(summary: RebuildSummary): string {
  const rows = summary.load?.rows ?? 0
  return `rebuild: loaded ${summary.runs} runs (${rows} rows) into fresh tables and swapped them into schema "${summary.schema}" in ${(summary.durationMs / 1000).toFixed(1)} s.`
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes'
  } finally {
    rl.close()
  }
}
