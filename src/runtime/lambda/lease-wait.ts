/**
 * Waiting out another runner's lease inside one invocation. S3 delivers
 * events at least once and several manifests can land together, so two
 * invocations of one stage often overlap; the second waits for the first
 * (a few seconds) instead of failing and raising the errors alarm.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** Longest single wait between attempts. */
const MAX_DELAY_MS = 5_000

/**
 * Runs `work`, and again after a growing pause while it throws `heldError`,
 * until it succeeds, throws anything else, or `signal` (the invocation's
 * deadline) fires; then the last lease error is thrown (it is retryable, so
 * Lambda retries the invocation later).
 */
export async function whileLeaseHeld<T>(
  work: () => Promise<T>,
  signal: AbortSignal | undefined,
  heldError: abstract new (...args: never[]) => Error,
  options: { readonly firstDelayMs?: number; readonly maxAttempts?: number } = {},
): Promise<T> {
  let delay = options.firstDelayMs ?? 250
  const maxAttempts = options.maxAttempts ?? 60
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (!(error instanceof heldError) || attempt >= maxAttempts || signal?.aborted) throw error
      try {
        await sleep(delay, undefined, signal ? { signal } : {})
      } catch {
        throw error
      }
      delay = Math.min(MAX_DELAY_MS, delay * 2)
    }
  }
}
