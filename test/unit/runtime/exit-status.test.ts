import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError } from '../../../src/config/errors.js'
import { StarlineError } from '../../../src/core/starline-error.js'
import { EXIT, exitStatusOf } from '../../../src/runtime/cli/exit-status.js'
import { StageAbortedError } from '../../../src/pipeline/errors.js'
import { WarehouseUnreachableError } from '../../../src/warehouse/errors.js'

describe('exitStatusOf', () => {
  it('gives 75 (EX_TEMPFAIL) for a retryable failure', () => {
    assert.equal(exitStatusOf(new WarehouseUnreachableError('down', { retryable: true })), 75)
    assert.equal(exitStatusOf(new StageAbortedError('load')), EXIT.retryable)
  })

  it('gives 2 for bad configuration and 1 for any other failure', () => {
    assert.equal(exitStatusOf(new ConfigError('STARLINE_SOURCE_URL is not set')), 2)
    assert.equal(exitStatusOf(new StarlineError('bad data')), 1)
    assert.equal(exitStatusOf(new Error('bug')), 1)
  })
})
