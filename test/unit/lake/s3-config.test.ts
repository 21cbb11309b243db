import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LakeError } from '../../../src/lake/errors.js'
import { DEFAULT_MAX_ATTEMPTS, parseS3Url, s3ConnectionSettings } from '../../../src/lake/s3/s3-config.js'

describe('parseS3Url', () => {
  it('reads the bucket and the prefix, without trailing slashes', () => {
    assert.deepEqual(parseS3Url('s3://my-lake'), { bucket: 'my-lake', prefix: '' })
    assert.deepEqual(parseS3Url('s3://my-lake/'), { bucket: 'my-lake', prefix: '' })
    assert.deepEqual(parseS3Url('s3://my-lake/zones/ingestion/'), { bucket: 'my-lake', prefix: 'zones/ingestion' })
    assert.deepEqual(parseS3Url('s3://a.b-c/x y/ü'), { bucket: 'a.b-c', prefix: 'x y/ü' })
  })

  it('rejects an invalid bucket name, naming the setting', () => {
    for (const url of ['s3://', 's3://ab', 's3://Upper', 's3://under_score/x', 's3://-dash', 's3://a..b', 's3://192.168.1.1', `s3://${'a'.repeat(64)}`]) {
      assert.throws(() => parseS3Url(url, 'STARLINE_INGESTION_URL'), (error: unknown) => {
        assert.ok(error instanceof LakeError, url)
        assert.match(error.message, /STARLINE_INGESTION_URL/)
        return true
      })
    }
  })

  it('rejects a prefix with empty, . or .. segments', () => {
    for (const url of ['s3://bucket//x', 's3://bucket/a//b', 's3://bucket/./x', 's3://bucket/a/../b']) {
      assert.throws(() => parseS3Url(url), LakeError, url)
    }
  })
})

describe('s3ConnectionSettings', () => {
  it('leaves region and endpoint to AWS defaults when nothing is set', () => {
    assert.deepEqual(s3ConnectionSettings({}), { forcePathStyle: false, maxAttempts: DEFAULT_MAX_ATTEMPTS })
  })

  it('prefers AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL and switches to path-style addressing', () => {
    const settings = s3ConnectionSettings({ AWS_ENDPOINT_URL: 'http://general:1', AWS_ENDPOINT_URL_S3: 'http://s3only:2', AWS_REGION: 'eu-west-2' })
    assert.deepEqual(settings, { region: 'eu-west-2', endpoint: 'http://s3only:2', forcePathStyle: true, maxAttempts: DEFAULT_MAX_ATTEMPTS })
    assert.equal(s3ConnectionSettings({ AWS_ENDPOINT_URL: 'http://general:1' }).endpoint, 'http://general:1')
  })

  it('uses us-east-1 for a custom endpoint without a region, and AWS_DEFAULT_REGION when AWS_REGION is unset', () => {
    assert.equal(s3ConnectionSettings({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' }).region, 'us-east-1')
    assert.equal(s3ConnectionSettings({ AWS_DEFAULT_REGION: 'ap-south-1' }).region, 'ap-south-1')
  })

  it('reads AWS_MAX_ATTEMPTS and rejects a value that is no positive whole number', () => {
    assert.equal(s3ConnectionSettings({ AWS_MAX_ATTEMPTS: '9' }).maxAttempts, 9)
    for (const value of ['0', '-1', '2.5', 'many']) assert.throws(() => s3ConnectionSettings({ AWS_MAX_ATTEMPTS: value }), /AWS_MAX_ATTEMPTS/)
  })

  it('rejects an endpoint that is not a URL', () => {
    assert.throws(() => s3ConnectionSettings({ AWS_ENDPOINT_URL_S3: 'localhost 9000' }), /AWS_ENDPOINT_URL/)
  })
})
