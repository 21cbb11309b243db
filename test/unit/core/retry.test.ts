import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isRetryable, withRetry } from '../../../src/core/retry.js'
import { StarlineError } from '../../../src/core/starline-error.js'

const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 }

describe('withRetry', () => {
  it('tries a retryable failure again until it succeeds', async () => {
    let calls = 0
    const result = await withRetry(
      async () => {
        calls++
        if (calls < 3) throw new StarlineError('connection lost', { retryable: true })
        return 'done'
      },
      { policy: fast },
    )
    assert.equal(result, 'done')
    assert.equal(calls, 3)
  })

  it('fails at once on a terminal error', async () => {
    let calls = 0
    await assert.rejects(
      withRetry(
        async () => {
          calls++
          throw new StarlineError('bad data')
        },
        { policy: fast },
      ),
      /bad data/,
    )
    assert.equal(calls, 1)
  })

  it('gives up after the policy allows, with the last error', async () => {
    const seen: number[] = []
    let calls = 0
    await assert.rejects(
      withRetry(
        async () => {
          calls++
          throw new StarlineError(`attempt ${calls}`, { retryable: true })
        },
        { policy: fast, onRetry: (_e, attempt) => seen.push(attempt) },
      ),
      /attempt 4/,
    )
    assert.deepEqual(seen, [1, 2, 3])
  })

  it('stops retrying once aborted', async () => {
    const controller = new AbortController()
    let calls = 0
    await assert.rejects(
      withRetry(
        async () => {
          calls++
          controller.abort()
          throw new StarlineError('lost', { retryable: true })
        },
        { policy: fast, signal: controller.signal },
      ),
    )
    assert.equal(calls, 1)
  })

  it('treats foreign errors as terminal', () => {
    assert.equal(isRetryable(new Error('ECONNRESET')), false)
    assert.equal(isRetryable(new StarlineError('x', { retryable: true })), true)
  })
})
