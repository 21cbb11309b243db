import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { deadlineSignal, lockWaitWithin, withoutPasswords } from '../../../../src/runtime/lambda/lambda-invocation.js'

describe('withoutPasswords', () => {
  it('removes the password of every URL in a message and keeps the rest', () => {
    assert.equal(
      withoutPasswords('connect to postgres://loader:s3cr%40t@db:5432/w failed; redshift://u:p@h:5439/d too'),
      'connect to postgres://loader@db:5432/w failed; redshift://u@h:5439/d too',
    )
    assert.equal(withoutPasswords('s3://bucket/key and postgres://user@host/db'), 's3://bucket/key and postgres://user@host/db')
  })
})

describe('deadlineSignal', () => {
  it('has no deadline without a Lambda context', () => {
    assert.equal(deadlineSignal(undefined), undefined)
    assert.equal(deadlineSignal({}), undefined)
  })

  it('fires before the Lambda timeout, keeping a margin to clean up', async () => {
    const signal = deadlineSignal({ getRemainingTimeInMillis: () => 1_050 })!
    assert.equal(signal.aborted, false)
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.equal(signal.aborted, true, 'a 1 s margin: 1.05 s left fires after about 50 ms')
    const late = deadlineSignal({ getRemainingTimeInMillis: () => 200 })!
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(late.aborted, true, 'less time than the margin: stop at once')
  })
})

describe('lockWaitWithin', () => {
  it("gives a load the invocation's remaining time less two margins, well past 30 s on a 15-minute function", () => {
    const context = (ms: number) => ({ awsRequestId: 'r', functionName: 'f', getRemainingTimeInMillis: () => ms })
    assert.equal(lockWaitWithin(context(900_000)), 840_000)
    assert.equal(lockWaitWithin(context(5_000)), 3_000)
    assert.equal(lockWaitWithin(context(500)), 1_000, 'at least 1 s')
    assert.equal(lockWaitWithin(undefined), undefined, "outside Lambda: the engine's default")
  })
})
