import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { discardLambdaRuntime, lambdaRuntime } from '../../../../src/runtime/lambda/lambda-runtime.js'

const env = {
  STARLINE_INGESTION_URL: 'file:///tmp/starline-unit/ingestion',
  STARLINE_PROCESSED_URL: 'file:///tmp/starline-unit/processed',
  STARLINE_WAREHOUSE_URL: 'postgres://loader@127.0.0.1:1/warehouse',
  PATH: '/usr/bin',
}

after(() => discardLambdaRuntime())

describe('lambdaRuntime', () => {
  it('is built once and reused by warm invocations with the same environment', async () => {
    const first = await lambdaRuntime(env)
    assert.equal(await lambdaRuntime({ ...env, PATH: '/bin', _X_AMZN_TRACE_ID: 'Root=1-abc' }), first, 'variables that are not settings do not rebuild it')
    assert.equal(await first.warehouse(), await first.warehouse(), 'one warehouse (one pool) per runtime')
  })

  it('is rebuilt when a setting changes, and after it is discarded', async () => {
    const first = await lambdaRuntime(env)
    const changed = await lambdaRuntime({ ...env, STARLINE_WAREHOUSE_SCHEMA: 'analytics' })
    assert.notEqual(changed, first)
    assert.equal(changed.config.warehouseSchema, 'analytics')
    await discardLambdaRuntime()
    assert.notEqual(await lambdaRuntime({ ...env, STARLINE_WAREHOUSE_SCHEMA: 'analytics' }), changed)
  })

  it('keeps no failed build: a bad setting fails each invocation until it is fixed', async () => {
    const bad = { ...env, STARLINE_INGESTION_URL: 'ftp://lake' }
    await assert.rejects(lambdaRuntime(bad), /STARLINE_INGESTION_URL/)
    await assert.rejects(lambdaRuntime(bad), /STARLINE_INGESTION_URL/)
    assert.equal((await lambdaRuntime(env)).config.ingestionUrl, env.STARLINE_INGESTION_URL)
  })
})
