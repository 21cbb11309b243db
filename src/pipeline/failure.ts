/**
 * Wraps a stage so that a failure leaves its record in the lake (see
 * lake/failure-record.ts) before it propagates. A stage asked to stop is
 * not a failure: nothing is recorded for it.
 */
import { recordFailure } from '../lake/failure-record.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { StageContext } from './context.js'
import { StageAbortedError } from './errors.js'

export async function recordingFailure<T>(ctx: StageContext, store: ObjectStore, stage: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (!(error instanceof StageAbortedError)) {
      const record = await recordFailure(store, stage, error)
      if (record === undefined) ctx.logger.warn('could not write the failure record to the lake', { stage })
    }
    throw error
  }
}
