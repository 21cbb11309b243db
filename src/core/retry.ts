/**
 * Trying a step again after a transient failure. Only errors marked
 * `retryable` (a lost connection, a serialization failure, throttling) are
 * retried, with exponential backoff and jitter; terminal errors (bad data,
 * bad config) fail at once, since trying again changes nothing. Callers
 * wrap only steps that are safe to repeat: a load transaction (the ledger
 * makes it exactly-once), opening a connection, a conditional write.
 */
import { StarlineError } from './starline-error.js'

export interface RetryPolicy {
  /** How many times to try again after the first failure (0: never). */
  readonly retries: number
  /** The first wait; each later wait doubles, up to `maxDelayMs`. Default 500 ms. */
  readonly baseDelayMs?: number
  /** Default 10 s. */
  readonly maxDelayMs?: number
}

export interface RetryOptions {
  readonly policy: RetryPolicy
  /** Stops waiting (and retrying) when aborted. */
  readonly signal?: AbortSignal
  /** Told about each retry, e.g. to log it. */
  readonly onRetry?: (error: StarlineError, attempt: number, delayMs: number) => void
}

export const NO_RETRY: RetryPolicy = Object.freeze({ retries: 0 })

/** Whether an error says the same call may succeed later. */
export function isRetryable(error: unknown): boolean {
  return error instanceof StarlineError && error.retryable
}

export async function withRetry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { retries, baseDelayMs = 500, maxDelayMs = 10_000 } = options.policy
  for (let attempt = 0; ; attempt++) {
    try {
      return await work(attempt)
    } catch (error) {
      if (attempt >= retries || !isRetryable(error) || options.signal?.aborted) throw error
      // Full jitter: runners that failed together do not retry together.
      const delayMs = Math.round(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt))
      options.onRetry?.(error as StarlineError, attempt + 1, delayMs)
      await sleep(delayMs, options.signal)
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
