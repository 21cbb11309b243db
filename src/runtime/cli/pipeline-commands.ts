/**
 * `starline extract | transform | load | run`: the stages, configured from
 * the environment, with a printed summary; `--dry-run` prints what would
 * move instead and writes nothing.
 */
import { requireSetting, type StarlineConfig } from '../../config/config.js'
import { createLogger, logFormatFor } from '../../observe/logger.js'
import { createProgress } from '../../observe/progress.js'
import { formatExtract, formatLoad, formatRun, formatTransform } from '../../observe/summary-text.js'
import type { ExtractSummary, LoadSummary, TransformSummary } from '../../schema/summaries.js'
import { isRetryable } from '../../core/retry.js'
import { messageOf } from '../../core/starline-error.js'
import { observedCycle, observedSingleStage } from '../observed-cycle.js'
import { openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'
import { holdingCycleLease } from '../scheduler.js'

export type PipelineCommand = 'extract' | 'transform' | 'load' | 'run'

export interface PipelineFlags {
  readonly acceptSchemaChange: boolean
  readonly dryRun: boolean
}

export async function pipelineCommand(
  command: PipelineCommand,
  config: StarlineConfig,
  signal: AbortSignal,
  print: (text: string, summary: unknown) => void,
  flags: PipelineFlags,
): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: logFormatFor(process.stderr) })
  const ctx = stageContext(config, logger, { signal, progress: createProgress(process.stderr) })
  if (flags.dryRun) {
    const { dryRun } = await import('./dry-run.js')
    return dryRun(command, config, ctx, print, { acceptSchemaChange: flags.acceptSchemaChange })
  }
  // Check every setting before doing any work.
  if (command === 'run' || command === 'extract') requireSetting(config, 'sourceUrl')
  if (command === 'run' || command === 'load') requireSetting(config, 'warehouseUrl')
  const warehouse = command === 'load' || command === 'run' ? await openConfiguredWarehouse(config) : undefined
  try {
    const setup = { config, ctx, acceptSchemaChange: flags.acceptSchemaChange, ...(warehouse ? { warehouse } : {}) }
    if (command === 'run') {
      const done: StageSummary[] = []
      try {
        // The cycle lease, as continuous mode takes it: a one-shot run and a scheduled cycle never overlap.
        const summary = await holdingCycleLease(ctx.ingestion, config.leaseTtlMs, logger, () =>
          observedCycle({ ...setup, onStageDone: (stage) => done.push(stage) }),
        )
        return print(formatRun(summary), summary)
      } catch (error) {
        // What the earlier stages committed stays: a late failure must not hide it (the error itself is reported by the caller).
        if (done.length > 0) print(formatPartialRun(done), partialRunSummary(done, error))
        throw error
      }
    }
    const summary = await observedSingleStage(setup, command)
    if (command === 'extract') return print(formatExtract(summary as ExtractSummary), summary)
    if (command === 'transform') return print(formatTransform(summary as TransformSummary), summary)
    return print(formatLoad(summary as LoadSummary), summary)
  } finally {
    await warehouse?.close()
  }
}

type StageSummary = ExtractSummary | TransformSummary | LoadSummary

const STAGES = ['extract', 'transform', 'load'] as const

/** The stage of a cycle that failed: the first that did not finish. */
function failedStage(done: readonly StageSummary[]): string {
  return STAGES.find((stage) => !done.some((s) => s.stage === stage)) ?? 'load'
}

/** `run --json` after a late failure: each finished stage's summary, then the failure. */
function partialRunSummary(done: readonly StageSummary[], error: unknown): Record<string, unknown> {
  return {
    ...Object.fromEntries(done.map((summary) => [summary.stage, summary])),
    failed: { stage: failedStage(done), error: messageOf(error).replace(/\s*\n\s*/g, ' '), retryable: isRetryable(error) },
  }
}

function formatPartialRun(done: readonly StageSummary[]): string {
  const parts = done.map((summary) =>
    summary.stage === 'extract' ? formatExtract(summary) : summary.stage === 'transform' ? formatTransform(summary) : formatLoad(summary),
  )
  return [...parts, `${failedStage(done)}: failed; the stages above committed what they report`].join('\n')
}
