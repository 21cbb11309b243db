/**
 * Continuous mode: a cycle on a schedule (`--every 5m`, or a cron expression
 * through croner), until stopped. Cycles never overlap: within a process
 * the next waits for the current one (missed ticks are skipped, not queued),
 * and across processes a `cycle` lease in the ingestion zone (lake/lease.ts,
 * so a crashed holder's lock is taken over) makes a second runner skip its
 * tick. A failed cycle is logged and alerted, and the schedule goes on. A
 * stop (SIGINT/SIGTERM) ends the wait at once, or lets the current stage
 * finish its step and abandon the rest safely (the stages' abort signal).
 */
import { Cron } from 'croner'
import { ConfigError } from '../config/errors.js'
import { parseDuration } from '../config/parsers.js'
import { newRunId } from '../core/run-id.js'
import { messageOf } from '../core/starline-error.js'
import { LeaseHeldError } from '../lake/errors.js'
import { acquireLease, type Lease } from '../lake/lease.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { Logger } from '../observe/logger.js'
import { StageAbortedError } from '../pipeline/errors.js'

/** When the next cycle is due, after a cycle that was due at `previous`. */
export type Schedule = (previous: Date, now: Date) => Date

/** `--every <duration>`: ticks at fixed distances from the first, skipping those already past. */
export function everySchedule(value: string): { schedule: Schedule; intervalMs: number } {
  const intervalMs = parseDuration(value, '--every')
  if (intervalMs < 1000) throw new ConfigError(`--every must be at least 1s; got ${JSON.stringify(value)}.`)
  return {
    intervalMs,
    schedule: (previous, now) => {
      const missed = Math.floor((now.getTime() - previous.getTime()) / intervalMs)
      return new Date(previous.getTime() + (missed + 1) * intervalMs)
    },
  }
}

/** `--cron "<expression>"`, in UTC (5 fields, or 6 with seconds first). */
export function cronSchedule(expression: string): { schedule: Schedule } {
  let cron: Cron
  try {
    cron = new Cron(expression, { timezone: 'UTC', paused: true })
  } catch (error) {
    throw new ConfigError(`--cron ${JSON.stringify(expression)} is not a cron expression (${messageOf(error)}). Example: "*/15 * * * *".`)
  }
  if (cron.nextRun(new Date()) === null) throw new ConfigError(`--cron ${JSON.stringify(expression)} never fires again.`)
  return { schedule: (_previous, now) => cron.nextRun(now) ?? new Date(8.64e15) }
}

export interface CycleReport<T> {
  readonly cycle: number
  readonly startedAt: string
  readonly finishedAt: string
  /** Set when the cycle ran to the end. */
  readonly summary?: T
  /** Set when it failed (the schedule goes on). */
  readonly error?: string
  /** Set when another runner held the cycle lock: this tick was skipped. */
  readonly skipped?: string
  /** Set when a stop (SIGINT/SIGTERM) abandoned the cycle midway; nothing half-done was published. */
  readonly stopped?: string
}

export interface ContinuousOptions<T> {
  readonly schedule: Schedule
  /** Where the cycle lock lives (the ingestion zone). */
  readonly lockStore: ObjectStore
  readonly lockTtlMs: number
  readonly signal: AbortSignal
  readonly logger: Logger
  /** One cycle; throws on failure. */
  readonly cycle: () => Promise<T>
  readonly onCycle: (report: CycleReport<T>) => void
  /** For tests: start the first cycle at once (default) or at the first tick. */
  readonly now?: () => Date
}

/** Runs cycles until the signal stops it; resolves with the number of cycles that ran. */
export async function runContinuously<T>(options: ContinuousOptions<T>): Promise<number> {
  const now = options.now ?? (() => new Date())
  let due = now()
  let count = 0
  while (!options.signal.aborted) {
    const startedAt = now()
    const report = await oneCycle(options, ++count, startedAt)
    if (report.skipped === undefined && report.error === undefined) options.logger.info('cycle finished', { cycle: count })
    options.onCycle(report)
    if (options.signal.aborted) break
    due = options.schedule(due, now())
    options.logger.debug('next cycle', { at: due.toISOString() })
    await sleepUntil(due, options.signal, now)
  }
  return count
}

async function oneCycle<T>(options: ContinuousOptions<T>, cycle: number, startedAt: Date): Promise<CycleReport<T>> {
  const finished = (fields: Partial<CycleReport<T>>): CycleReport<T> => ({ cycle, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), ...fields })
  let lock: Lease
  try {
    lock = await acquireLease(options.lockStore, 'cycle', newRunId(startedAt), { ttlMs: options.lockTtlMs })
  } catch (error) {
    if (!(error instanceof LeaseHeldError)) {
      // The lake could not be reached (a 503, a dropped connection): this tick fails, the schedule goes on.
      options.logger.error('cycle failed before it started: the cycle lock could not be taken; the schedule goes on', { cycle, error })
      return finished({ error: messageOf(error) })
    }
    options.logger.warn('another runner is in a cycle: this tick is skipped', { cycle })
    return finished({ skipped: messageOf(error) })
  }
  // A cycle can outlast the lock's time to live (a first full load): renew it, as the stages renew theirs.
  lock.startRenewal({ onError: (error) => options.logger.warn('could not renew the cycle lock; trying again', { error: messageOf(error) }) })
  try {
    return finished({ summary: await options.cycle() })
  } catch (error) {
    if (error instanceof StageAbortedError) return finished({ stopped: messageOf(error) })
    options.logger.error('cycle failed; the schedule goes on', { cycle, error })
    return finished({ error: messageOf(error) })
  } finally {
    await lock.release().catch(() => {})
  }
}

/**
 * Runs one cycle under the `cycle` lease, as each scheduled cycle runs: a
 * one-shot `starline run` and a continuous runner (or two one-shot runs)
 * never overlap. Throws LeaseHeldError (retryable: try later) when another
 * runner is in a cycle. The stages would be safe anyway (each holds its own
 * lease); this keeps a second run from failing halfway through on them.
 */
export async function holdingCycleLease<T>(store: ObjectStore, ttlMs: number, logger: Logger, cycle: () => Promise<T>): Promise<T> {
  const lock = await acquireLease(store, 'cycle', newRunId(), { ttlMs })
  lock.startRenewal({ onError: (error) => logger.warn('could not renew the cycle lock; trying again', { error: messageOf(error) }) })
  try {
    return await cycle()
  } finally {
    await lock.release().catch(() => {})
  }
}

function sleepUntil(due: Date, signal: AbortSignal, now: () => Date): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, Math.max(0, due.getTime() - now().getTime()))
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
