/**
 * The stages as the CLI runs them, one-shot or on a schedule: each stage's
 * outcome feeds the alerts (a failure raises its incident once, a success
 * resolves it), and after a full cycle the status feeds the freshness and
 * held-rows incidents. Alerting never hides the stage's own error.
 */
import type { StarlineConfig } from '../config/config.js'
import { ConfigError } from '../config/errors.js'
import { applyObservations, type Observation } from '../observe/alerts/incidents.js'
import { observeStages, observeStatus, type StageOutcome } from '../observe/alerts/evaluate.js'
import { openAlertSink } from '../observe/alerts/open-alert-sink.js'
import { collectStatus } from '../observe/status.js'
import type { StageContext } from '../pipeline/context.js'
import { StageAbortedError } from '../pipeline/errors.js'
import type { ExtractSummary, LoadSummary, RunSummary, TransformSummary } from '../schema/summaries.js'
import type { Warehouse } from '../warehouse/warehouse.js'
import { extractOptions } from './pipeline-setup.js'

export interface CycleSetup {
  readonly config: StarlineConfig
  readonly ctx: StageContext
  /** Needed by load and run. */
  readonly warehouse?: Warehouse
  readonly acceptSchemaChange?: boolean
  /** Continuous mode: alerts go to stderr when no sink is set. */
  readonly continuous?: boolean
  /** Told of each stage that finished (its work is committed), so a later stage's failure cannot hide it. */
  readonly onStageDone?: (summary: ExtractSummary | TransformSummary | LoadSummary) => void
  /** The cycle checked the warehouse for drift before extract: the load does not check again. */
  readonly driftChecked?: boolean
}

type Stage = 'extract' | 'transform' | 'load'

/** Extract, transform, load; stops at the first failure, as runCycle does, then alerts and rethrows. */
export async function observedCycle(setup: CycleSetup): Promise<RunSummary> {
  const started = Date.now()
  const outcomes: StageOutcome[] = []
  try {
    // A drifted warehouse refuses the cycle before extract (the load's refusal, alerted as the load's).
    const { checkDriftFirst } = await import('../pipeline/run.js')
    const driftChecked = await checkDriftFirst(setup.ctx, { warehouse: setup.warehouse!, schema: setup.config.warehouseSchema }).catch((error: unknown) => {
      outcomes.push({ stage: 'load', error })
      throw error
    })
    const extract = (await observedStage(setup, 'extract', outcomes)) as ExtractSummary
    const transform = (await observedStage(setup, 'transform', outcomes)) as TransformSummary
    const load = (await observedStage({ ...setup, driftChecked }, 'load', outcomes)) as LoadSummary
    return { extract, transform, load, durationMs: Date.now() - started }
  } finally {
    await evaluateAlerts(setup, outcomes, true)
  }
}

/** One stage alone (`starline extract`...), alerting on its failure or recovery. */
export async function observedSingleStage(setup: CycleSetup, stage: Stage): Promise<ExtractSummary | TransformSummary | LoadSummary> {
  const outcomes: StageOutcome[] = []
  try {
    return await observedStage(setup, stage, outcomes)
  } finally {
    await evaluateAlerts(setup, outcomes, false)
  }
}

async function observedStage(setup: CycleSetup, stage: Stage, outcomes: StageOutcome[]): Promise<ExtractSummary | TransformSummary | LoadSummary> {
  try {
    const summary = await runStage(setup, stage)
    outcomes.push({ stage })
    setup.onStageDone?.(summary)
    return summary
  } catch (error) {
    // A stop asked for (Ctrl-C, SIGTERM) is not a failure, and bad usage is reported by the exit status: nothing to alert.
    if (!(error instanceof StageAbortedError) && !(error instanceof ConfigError)) outcomes.push({ stage, error })
    throw error
  } finally {
    setup.ctx.progress?.done()
  }
}

async function runStage(setup: CycleSetup, stage: Stage): Promise<ExtractSummary | TransformSummary | LoadSummary> {
  const { ctx, config } = setup
  if (stage === 'extract') {
    const { extract } = await import('../pipeline/extract.js')
    return extract(ctx, extractOptions(config, { acceptSchemaChange: setup.acceptSchemaChange ?? false }))
  }
  if (stage === 'transform') {
    const { transform } = await import('../pipeline/transform.js')
    return transform(ctx)
  }
  const { load } = await import('../pipeline/load.js')
  return load(ctx, { warehouse: setup.warehouse!, schema: config.warehouseSchema, driftChecked: setup.driftChecked ?? false })
}

async function evaluateAlerts(setup: CycleSetup, outcomes: readonly StageOutcome[], withStatus: boolean): Promise<void> {
  const { ctx, config } = setup
  try {
    const sink = openAlertSink(config.alertSink, { continuous: setup.continuous ?? false })
    const observations: Observation[] = observeStages(outcomes)
    await applyObservations(ctx.ingestion, sink, observations, ctx.logger)
    if (!withStatus || setup.warehouse === undefined) return
    const status = await collectStatus({
      dataset: ctx.dataset,
      ingestion: ctx.ingestion,
      processed: ctx.processed,
      warehouse: setup.warehouse,
      schema: config.warehouseSchema,
      freshnessTargetMs: config.freshnessTargetMs,
      // The alerts read only the warehouse part: no manifest needs reading.
      manifestsRead: 0,
    })
    await applyObservations(ctx.ingestion, sink, observeStatus(status, config.heldAlertRuns), ctx.logger)
  } catch (error) {
    // After a failed stage the warehouse may be the thing that is down, and its incident went out above.
    const failed = outcomes.some((o) => o.error !== undefined)
    ctx.logger[failed ? 'debug' : 'warn']('could not evaluate the freshness and held-row alerts', { error })
  }
}
