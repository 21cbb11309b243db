/**
 * What every stage receives: where the lake zones are, which dataset, how to
 * log, and a signal to stop early. Stages return summaries; they never print.
 */
import { NO_RETRY, withRetry, type RetryPolicy } from '../core/retry.js'
import { removeDeadScratchDirs } from '../core/scratch-space.js'
import type { Dataset } from '../schema/dataset.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { Logger } from '../observe/logger.js'
import type { Progress } from '../observe/progress.js'

export interface StageContext {
  readonly dataset: Dataset
  readonly ingestion: ObjectStore
  readonly processed: ObjectStore
  readonly logger: Logger
  readonly signal?: AbortSignal
  /** A directory for scratch files (DuckDB spill, downloaded objects). */
  readonly scratchDir: string
  /** How long a stage's lease lasts when its holder cannot be checked. */
  readonly leaseTtlMs: number
  /** DuckDB's memory limit (e.g. '512MB'); past it DuckDB spills to scratchDir. */
  readonly duckdbMemory?: string
  /** How steps that are safe to repeat retry transient failures (no retry when absent). */
  readonly retry?: RetryPolicy
  /** Rows done so far, for a progress line on a terminal. Default: none. */
  readonly progress?: Progress
}

/**
 * Removes what killed runs left in the scratch directory (never a live
 * run's: see core/scratch-space.ts). Stages call it as they start, so
 * leftovers do not pile up until the disk is full.
 */
export async function removeDeadScratch(ctx: StageContext): Promise<void> {
  const removed = await removeDeadScratchDirs(ctx.scratchDir, {
    onUnknownOwnerRemoved: (dir, owner, ageMs) =>
      ctx.logger.warn('removed an old scratch directory whose owner cannot be checked from here (another host or container)', {
        dir,
        host: owner.host,
        pid: owner.pid,
        days: Math.floor(ageMs / 86_400_000),
      }),
  })
  if (removed.length > 0) ctx.logger.info('removed scratch files left by runs that were killed', { directories: removed.length, scratchDir: ctx.scratchDir })
}

/**
 * Runs a step that is safe to repeat, retrying transient failures under the
 * context's policy and logging each retry.
 */
export function retryStep<T>(ctx: StageContext, step: string, work: () => Promise<T>): Promise<T> {
  return withRetry(work, {
    policy: ctx.retry ?? NO_RETRY,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onRetry: (error, attempt, delayMs) => ctx.logger.info('retrying after a transient failure', { step, attempt, delayMs, error: error.message }),
  })
}
