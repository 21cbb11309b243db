import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SecretError } from '../../../src/config/errors.js'
import { mapSecretsManagerError, resolveSecretUrls, SecretCache, urlFromSecret, type SecretStore } from '../../../src/config/secrets.js'

describe('urlFromSecret', () => {
  it('takes the url of a {"url"} secret as it is', () => {
    assert.equal(urlFromSecret('{"url":"postgres://u:p@db:5432/totesys"}', 's'), 'postgres://u:p@db:5432/totesys')
  })

  it('builds a URL from the RDS shape, encoding user, password and database', () => {
    const value = JSON.stringify({ engine: 'postgres', host: 'db.example.com', port: 6543, username: 'ro user', password: 'p@ss:/w?rd#', dbname: 'tote sys' })
    const url = urlFromSecret(value, 's')
    assert.equal(url, 'postgres://ro%20user:p%40ss%3A%2Fw%3Frd%23@db.example.com:6543/tote%20sys')
    const parsed = new URL(url)
    assert.equal(decodeURIComponent(parsed.password), 'p@ss:/w?rd#')
    assert.equal(decodeURIComponent(parsed.username), 'ro user')
  })

  it('defaults the port by engine and maps Redshift and Aurora engines', () => {
    const base = { host: 'h', username: 'u', password: 'p', dbname: 'd' }
    assert.equal(urlFromSecret(JSON.stringify({ ...base, engine: 'aurora-postgresql' }), 's'), 'postgres://u:p@h:5432/d')
    assert.equal(urlFromSecret(JSON.stringify({ ...base, engine: 'redshift' }), 's'), 'redshift://u:p@h:5439/d')
    assert.equal(urlFromSecret(JSON.stringify({ ...base, port: '5433' }), 's'), 'postgres://u:p@h:5433/d')
  })

  it('refuses a malformed value with a message naming the secret and never its value', () => {
    const cases = ['not json hunter2', '"hunter2"', JSON.stringify({ host: 'h', username: 'u', password: 'hunter2' }), JSON.stringify({ engine: 'mysql', host: 'h', username: 'u', password: 'hunter2', dbname: 'd' })]
    for (const value of cases) {
      assert.throws(
        () => urlFromSecret(value, 'arn:aws:secretsmanager:eu-west-2:1:secret:starline/source'),
        (error: unknown) => {
          assert.ok(error instanceof SecretError)
          assert.match(error.message, /Secret "arn:aws:secretsmanager:eu-west-2:1:secret:starline\/source"/)
          assert.doesNotMatch(error.message, /hunter2/)
          assert.equal(error.retryable, false)
          return true
        },
      )
    }
  })
})

describe('resolveSecretUrls', () => {
  const store = (values: Record<string, string>, calls: string[] = []): SecretStore => ({
    async getSecretString(id) {
      calls.push(id)
      const value = values[id]
      if (value === undefined) throw new SecretError(`no ${id}`)
      return value
    },
  })

  it('fills each URL setting from its secret and leaves the rest of the environment alone', async () => {
    const cache = new SecretCache(store({ src: '{"url":"postgres://a@s:5432/x"}', wh: '{"url":"postgres://b@w:5432/y"}' }))
    const env = await resolveSecretUrls({ STARLINE_SOURCE_SECRET_ID: 'src', STARLINE_WAREHOUSE_SECRET_ID: 'wh', STARLINE_LOG_LEVEL: 'info' }, cache)
    assert.equal(env.STARLINE_SOURCE_URL, 'postgres://a@s:5432/x')
    assert.equal(env.STARLINE_WAREHOUSE_URL, 'postgres://b@w:5432/y')
    assert.equal(env.STARLINE_LOG_LEVEL, 'info')
  })

  it('refuses a secret id together with the URL it would fill', async () => {
    const cache = new SecretCache(store({}))
    await assert.rejects(
      resolveSecretUrls({ STARLINE_WAREHOUSE_SECRET_ID: 'wh', STARLINE_WAREHOUSE_URL: 'postgres://x@y:5432/z' }, cache),
      /Both STARLINE_WAREHOUSE_SECRET_ID and STARLINE_WAREHOUSE_URL are set/,
    )
  })

  it('reads each secret once while cached, and again after a failure or a clear', async () => {
    const calls: string[] = []
    const values: Record<string, string> = { src: '{"url":"postgres://a@s:5432/x"}' }
    const cache = new SecretCache(store(values, calls))
    await cache.get('src')
    await cache.get('src')
    assert.deepEqual(calls, ['src'])
    await assert.rejects(cache.get('missing'))
    await assert.rejects(cache.get('missing'))
    assert.deepEqual(calls, ['src', 'missing', 'missing'], 'a failed read is not cached')
    cache.clear()
    await cache.get('src')
    assert.deepEqual(calls, ['src', 'missing', 'missing', 'src'])
  })
})

describe('mapSecretsManagerError', () => {
  it('makes throttling, 5xx and dropped connections retryable, and not-found or access denied terminal', () => {
    const retryable = (e: object) => mapSecretsManagerError(Object.assign(new Error('x'), e), 's').retryable
    assert.equal(retryable({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }), true)
    assert.equal(retryable({ name: 'InternalServiceError', $metadata: { httpStatusCode: 500 } }), true)
    assert.equal(retryable({ code: 'ECONNRESET' }), true)
    assert.equal(retryable({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }), false)
    assert.equal(retryable({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }), false)
    assert.match(mapSecretsManagerError(Object.assign(new Error('x'), { name: 'AccessDeniedException' }), 'sec').message, /secretsmanager:GetSecretValue/)
  })
})
