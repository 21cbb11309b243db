/**
 * One invocation of a handler: get the warm runtime, give the stage a
 * deadline from Lambda's remaining time, log one JSON line with what moved,
 * write the metrics, return a JSON summary; on failure log, discard the
 * runtime and throw, so Lambda retries and the errors alarm fires.
 */
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { manifestKey } from '../../lake/keys.js'
import { readManifest } from '../../lake/manifest.js'
import type { ObjectStore } from '../../lake/object-store.js'
import { createLogger, type Logger } from '../../observe/logger.js'
import { ageSeconds, writeMetrics, type MetricFunction } from '../../observe/metrics.js'
import type { StageContext } from '../../pipeline/context.js'
import type { LambdaContext } from './lambda-events.js'
import { discardLambdaRuntime, lambdaRuntime, type LambdaRuntime } from './lambda-runtime.js'

/** What a handler's work reports back to the wrapper. */
export interface StageOutcome<S> {
  readonly stage: string
  /** The stage's own summary, returned to the caller as is (none when skipped). */
  readonly summary?: S
  readonly runIds: readonly string[]
  readonly tables: readonly { readonly table: string; readonly rows: number }[]
  readonly rows: number
  /** The newest source watermark this function has moved, for WatermarkAge. */
  readonly watermark?: string | undefined
  /** Set when the event announced nothing to do (no manifest among its records). */
  readonly skipped?: string
}

/** What a handler returns (Lambda serialises it as the invocation's result). */
export interface HandlerResult<S> {
  readonly function: MetricFunction
  readonly stage: string
  readonly runIds: readonly string[]
  readonly rows: number
  readonly durationMs: number
  readonly skipped?: string
  readonly summary?: S
}

/** Time kept back from the Lambda timeout so an aborted stage can clean up and report. */
export function deadlineSignal(context: LambdaContext | undefined): AbortSignal | undefined {
  const remaining = context?.getRemainingTimeInMillis?.()
  if (remaining === undefined || !Number.isFinite(remaining)) return undefined
  return AbortSignal.timeout(Math.max(0, Math.floor(remaining - marginOf(remaining))))
}

/**
 * How long a load may wait for another load of its schema: the invocation's
 * remaining time less twice the margin (one for the load after the wait, one
 * to report), at least 1 s. Undefined outside Lambda: the engine's default.
 */
export function lockWaitWithin(context: LambdaContext | undefined): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.()
  if (remaining === undefined || !Number.isFinite(remaining)) return undefined
  return Math.max(1_000, Math.floor(remaining - 2 * marginOf(remaining)))
}

function marginOf(remaining: number): number {
  return Math.min(30_000, Math.max(1_000, remaining * 0.1))
}

export async function invokeStage<S>(
  fn: MetricFunction,
  context: LambdaContext | undefined,
  work: (runtime: LambdaRuntime, ctx: StageContext) => Promise<StageOutcome<S>>,
): Promise<HandlerResult<S>> {
  const started = Date.now()
  const requestId = context?.awsRequestId
  const fields = { function: fn, ...(requestId ? { requestId } : {}) }
  let runtime: LambdaRuntime | undefined
  try {
    runtime = await lambdaRuntime()
    const signal = deadlineSignal(context)
    const ctx: StageContext = { ...runtime.ctx, logger: runtime.logger.child(fields), ...(signal ? { signal } : {}) }
    const outcome = await work(runtime, ctx)
    const durationMs = Date.now() - started
    // The one line per stage is written whatever the log level (only `silent` drops it): it is the function's record of what moved.
    createLogger({ level: runtime.config.logLevel === 'silent' ? 'silent' : 'info', fields }).info(
      outcome.skipped ? 'stage skipped' : 'stage finished',
      { stage: outcome.stage, runIds: outcome.runIds, tables: outcome.tables, rows: outcome.rows, durationMs, ...(outcome.skipped ? { skipped: outcome.skipped } : {}) },
    )
    writeMetrics({
      function: fn,
      values: { RowsMoved: outcome.rows, RunDuration: durationMs, WatermarkAge: ageSeconds(outcome.watermark) },
      properties: { stage: outcome.stage, runIds: outcome.runIds, ...(requestId ? { requestId } : {}) },
    })
    return {
      function: fn,
      stage: outcome.stage,
      runIds: outcome.runIds,
      rows: outcome.rows,
      durationMs,
      ...(outcome.skipped ? { skipped: outcome.skipped } : {}),
      ...(outcome.summary === undefined ? {} : { summary: outcome.summary }),
    }
  } catch (error) {
    const retryable = error instanceof StarlineError ? error.retryable : 'unknown'
    createLogger({ level: runtime?.config.logLevel === 'silent' ? 'silent' : 'error', fields }).error('stage failed', {
      error: error instanceof Error ? error.name : 'Error',
      reason: withoutPasswords(messageOf(error)),
      retryable,
      durationMs: Date.now() - started,
    })
    await discardLambdaRuntime().catch(() => {})
    throw error
  }
}

/**
 * A message with the password of any URL in it removed. Errors are written
 * not to hold one; this is the last guard, because the URLs built from
 * secrets carry passwords and a driver may quote its connection string.
 */
export function withoutPasswords(message: string): string {
  return message.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi, '$1@')
}

/** The watermark `to` of ingestion run `runId`, or undefined when its manifest has none or is gone. */
export async function watermarkOfRun(ingestion: ObjectStore, runId: string | undefined): Promise<string | undefined> {
  if (runId === undefined) return undefined
  try {
    return (await readManifest(ingestion, runId, 'extract')).manifest.watermark?.to
  } catch {
    return undefined
  }
}

/**
 * The announced runs whose manifest is in `store`. A record for a manifest
 * that is not there (a replayed event from another lake, a hand-made test
 * event) is dropped with a warning: no retry could make it appear.
 */
export async function announcedRuns(store: ObjectStore, runIds: readonly string[], logger: Logger): Promise<string[]> {
  const present: string[] = []
  for (const runId of runIds) {
    if (await store.head(manifestKey(runId))) present.push(runId)
    else logger.warn('event announced a manifest that is not in the zone: ignored', { runId, zone: store.root })
  }
  return present
}

/** Tables and rows summed over several runs, for the log line. */
export function tableTotals(runs: readonly { readonly tables: readonly { readonly table: string; readonly rows: number }[] }[]): { table: string; rows: number }[] {
  const totals = new Map<string, number>()
  for (const run of runs) for (const t of run.tables) totals.set(t.table, (totals.get(t.table) ?? 0) + t.rows)
  return [...totals].map(([table, rows]) => ({ table, rows }))
}
