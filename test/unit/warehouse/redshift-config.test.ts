import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { describeRedshiftUrl, parseIamRole, parseRedshiftUrl } from '../../../src/warehouse/redshift/redshift-config.js'
import { isRetryableRedshiftError } from '../../../src/warehouse/redshift/redshift-errors.js'
import { placeholders, toPositional } from '../../../src/warehouse/redshift/redshift-session.js'

describe('parseRedshiftUrl', () => {
  it('turns redshift:// into a TLS wire connection on port 5439 by default', () => {
    assert.deepEqual(parseRedshiftUrl('redshift://loader@cluster.example.com/dev'), { kind: 'wire', url: 'postgres://loader@cluster.example.com:5439/dev', ssl: true })
    assert.deepEqual(parseRedshiftUrl('redshift://loader@localhost:5440/dev?sslmode=disable'), { kind: 'wire', url: 'postgres://loader@localhost:5440/dev', ssl: false })
  })

  it('reads Serverless and provisioned Data API targets with secret and region', () => {
    assert.deepEqual(parseRedshiftUrl('redshift-data://serverless/wg-1/dev?region=eu-west-2'), {
      kind: 'data-api',
      target: { workgroup: 'wg-1' },
      database: 'dev',
      region: 'eu-west-2',
    })
    assert.deepEqual(parseRedshiftUrl('redshift-data://cluster/c-1/dev?db_user=loader&secret_arn=arn%3Aaws%3Asecretsmanager%3Ax'), {
      kind: 'data-api',
      target: { cluster: 'c-1', dbUser: 'loader' },
      database: 'dev',
      secretArn: 'arn:aws:secretsmanager:x',
    })
  })

  it('rejects URLs it cannot use, naming the setting and the expected form', () => {
    assert.throws(() => parseRedshiftUrl('redshift://host/dev'), /STARLINE_WAREHOUSE_URL must name a user/)
    assert.throws(() => parseRedshiftUrl('redshift-data://wg/dev'), /redshift-data:\/\/serverless\/<workgroup>\/<database>/)
    assert.throws(() => parseRedshiftUrl('redshift-data://serverless/wg/dev?db_user=x'), /db_user applies to provisioned clusters only/)
  })

  it('hides the password and the secret ARN when describing a URL', () => {
    assert.equal(describeRedshiftUrl('redshift://u:pw@h:5439/dev'), 'redshift://u@h:5439/dev')
    assert.doesNotMatch(describeRedshiftUrl('redshift-data://cluster/c/dev?secret_arn=arn%3Asecret'), /secret_arn=arn|%3Asecret/)
  })
})

describe('parseIamRole', () => {
  it('accepts role ARNs, chained ones too, and refuses anything else clearly', () => {
    assert.equal(parseIamRole('arn:aws:iam::123456789012:role/starline-copy'), 'arn:aws:iam::123456789012:role/starline-copy')
    assert.ok(parseIamRole('arn:aws:iam::123456789012:role/a,arn:aws:iam::210987654321:role/b'))
    assert.throws(() => parseIamRole(undefined), /STARLINE_REDSHIFT_IAM_ROLE is not set/)
    assert.throws(() => parseIamRole("arn:aws:iam::123456789012:role/x' --"), /not an IAM role ARN/)
  })
})

describe('named parameters', () => {
  it('finds :name placeholders outside literals, quoted names and :: casts', () => {
    const sql = `SELECT count(*)::varchar, 'arn:aws:iam::1:role/x', "a:b" FROM t WHERE run_id = :run_id AND x = :x_1 OR y = :run_id`
    assert.deepEqual(placeholders(sql).map((p) => p.name), ['run_id', 'x_1', 'run_id'])
  })

  it('turns them into PostgreSQL positions, binding a repeated name once', () => {
    assert.deepEqual(toPositional({ sql: `SELECT 'it''s :not' WHERE a = :a AND b = :b AND c = :a`, params: { a: 1, b: 'x' } }), {
      text: `SELECT 'it''s :not' WHERE a = $1 AND b = $2 AND c = $1`,
      values: ['1', 'x'],
    })
    assert.throws(() => toPositional({ sql: 'SELECT :missing' }), /:missing has no value/)
  })
})

describe('isRetryableRedshiftError', () => {
  it('retries throttling, server errors, lost connections and serialization conflicts, not bad SQL', () => {
    assert.equal(isRetryableRedshiftError(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })), true)
    assert.equal(isRetryableRedshiftError(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })), true)
    assert.equal(isRetryableRedshiftError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true)
    assert.equal(isRetryableRedshiftError(new Error('ERROR: 1023 DETAIL: Serializable isolation violation on table - 123')), true)
    assert.equal(isRetryableRedshiftError(Object.assign(new Error('bad'), { name: 'ValidationException' })), false)
    assert.equal(isRetryableRedshiftError(new Error('ERROR: column "x" does not exist')), false)
  })
})

describe('choosing Redshift from the configuration', () => {
  it('reads a Redshift warehouse URL and the IAM role from the environment, and refuses a bad role ARN', async () => {
    const { loadConfig } = await import('../../../src/config/config.js')
    const env = { STARLINE_WAREHOUSE_URL: 'redshift://loader@cluster.example.com:5439/dev', STARLINE_REDSHIFT_IAM_ROLE: 'arn:aws:iam::123456789012:role/copy' }
    const config = loadConfig({ env, cwd: '/tmp' })
    assert.equal(config.warehouseUrl, env.STARLINE_WAREHOUSE_URL)
    assert.equal(config.redshiftIamRole, env.STARLINE_REDSHIFT_IAM_ROLE)
    assert.throws(() => loadConfig({ env: { ...env, STARLINE_REDSHIFT_IAM_ROLE: 'copy-role' }, cwd: '/tmp' }), /STARLINE_REDSHIFT_IAM_ROLE must be an IAM role ARN/)
  })

  it('opens the Redshift engine for redshift:// and redshift-data:// URLs, and says when the role is missing', async () => {
    const { openWarehouse } = await import('../../../src/warehouse/open-warehouse.js')
    await assert.rejects(openWarehouse('redshift-data://serverless/wg/dev'), /STARLINE_REDSHIFT_IAM_ROLE is not set/)
    for (const url of ['redshift-data://serverless/wg/dev?region=eu-west-2', 'redshift://loader@cluster.example.com:5439/dev']) {
      const warehouse = await openWarehouse(url, { redshiftIamRole: 'arn:aws:iam::123456789012:role/copy' })
      assert.deepEqual(warehouse.capabilities, { copyFromObjectStore: true, enforcesForeignKeys: false })
      await warehouse.close()
    }
  })
})
