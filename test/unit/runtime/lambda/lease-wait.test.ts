import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LeaseHeldError } from '../../../../src/lake/errors.js'
import { whileLeaseHeld } from '../../../../src/runtime/lambda/lease-wait.js'

describe('whileLeaseHeld', () => {
  it('tries again while the lease is held, then returns the result', async () => {
    let calls = 0
    const result = await whileLeaseHeld(async () => (++calls < 3 ? Promise.reject(new LeaseHeldError('held')) : 'done'), undefined, LeaseHeldError, { firstDelayMs: 1 })
    assert.equal(result, 'done')
    assert.equal(calls, 3)
  })

  it('rethrows any other error at once', async () => {
    let calls = 0
    await assert.rejects(
      whileLeaseHeld(async () => {
        calls++
        throw new Error('boom')
      }, undefined, LeaseHeldError, { firstDelayMs: 1 }),
      /boom/,
    )
    assert.equal(calls, 1)
  })

  it('gives up with the lease error after the last attempt or when the deadline fires', async () => {
    const held = async (): Promise<never> => {
      throw new LeaseHeldError('still held', { retryable: true })
    }
    await assert.rejects(whileLeaseHeld(held, undefined, LeaseHeldError, { firstDelayMs: 1, maxAttempts: 3 }), /still held/)
    const deadline = new AbortController()
    setTimeout(() => deadline.abort(), 20)
    await assert.rejects(whileLeaseHeld(held, deadline.signal, LeaseHeldError, { firstDelayMs: 5 }), LeaseHeldError)
  })
})
