/**
 * Wraps a stage so that a failure leaves its record in the lake (see
 * lake/failure-record.ts) before it propagates, and the first success after
 * one leaves a recovery record.
 */
import { ConfigError } from '../config/errors.js'
import { LeaseHeldError } from '../lake/errors.js'
import { recordFailure, recordRecovery } from '../lake/failure-record.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { StageContext } from './context.js'
import { StageAbortedError } from './errors.js'
import { driverMessage } from '../core/driver-message.js'
import { redactUrlsIn } from '../core/redact.js'

export async function recordingFailure<T>(ctx: StageContext, store: ObjectStore, stage: string, work: () => Promise<T>): Promise<T> {
  try {
    const result = await work()
    // Closes a run of failures, so status reads the stage as healthy again from the lake alone.
    await recordRecovery(store, stage)
    return result
  } catch (error) {
    // A stop asked for is not a failure, bad configuration is the command's to report (exit status 2),
    // and another runner holding the stage is normal overlap, not a failure of this one.
    if (!(error instanceof StageAbortedError) && !(error instanceof ConfigError) && !(error instanceof LeaseHeldError)) {
      ctx.logger.debug('stage failed', { stage, causes: causesOf(error) })
      const record = await recordFailure(store, stage, error)
      // Usually the lake itself is what failed (a missing bucket): the error below already says so.
      if (record === undefined) ctx.logger.debug('could not write the failure record to the lake', { stage })
    }
    throw error
  }
}

/**
 * The errors under a failure (driver errors, lost connections), for the
 * debug log: each one's kind, code (SQLSTATE, errno) and message, without
 * the values a driver quotes or the passwords a URL holds.
 */
function causesOf(error: unknown): string[] {
  const causes: string[] = []
  let cause = error instanceof Error ? error.cause : undefined
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const code = (cause as { code?: unknown } | null)?.code
    const kind = cause instanceof Error ? cause.name : typeof cause
    causes.push(`${kind}${typeof code === 'string' ? ` ${code}` : ''}: ${redactUrlsIn(driverMessage(cause))}`)
    cause = cause instanceof Error ? cause.cause : undefined
  }
  return causes
}
