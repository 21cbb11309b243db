import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseLoaderSpec } from '../../../src/loader/loader-spec.js'
import { tablesForEvent } from '../../../src/runtime/lambda/parquet-loader-handler.js'

const columns = [{ name: 'id', type: 'bigint' }]
const spec = parseLoaderSpec(
  JSON.stringify({
    schema: 's',
    tables: [
      { name: 'users', prefix: 's3://lake/twitter/users/', columns },
      { name: 'tweets', prefix: 's3://lake/twitter/tweets/', marker: '_SUCCESS', columns },
      { name: 'žurnal', prefix: 's3://lake/twitter/žurnal dana/', columns },
    ],
  }),
  { baseDir: '/' },
)

const s3 = (key: string, eventName = 'ObjectCreated:Put') => ({
  Records: [{ eventSource: 'aws:s3', eventName, s3: { bucket: { name: 'lake' }, object: { key } } }],
})

describe('tablesForEvent', () => {
  it('loads every table for a scheduled or manual event', () => {
    assert.equal(tablesForEvent(spec, { 'detail-type': 'Scheduled Event', source: 'aws.events' }), undefined)
    assert.equal(tablesForEvent(spec, {}), undefined)
  })

  it('decodes S3 keys (percent-encoding, + for a space) to find the table', () => {
    assert.deepEqual(tablesForEvent(spec, s3('twitter/%C5%BEurnal+dana/part-0.parquet')), ['žurnal'])
  })

  it('reads the EventBridge form of an S3 event, whose key is not encoded', () => {
    const event = { 'detail-type': 'Object Created', source: 'aws.s3', detail: { bucket: { name: 'lake' }, object: { key: 'twitter/users/_SUCCESS' } } }
    assert.deepEqual(tablesForEvent(spec, event), ['users'])
  })

  it('waits for the marker of a table that names one', () => {
    assert.deepEqual(tablesForEvent(spec, s3('twitter/tweets/part-0.parquet')), [])
    assert.deepEqual(tablesForEvent(spec, s3('twitter/tweets/nested/_SUCCESS')), [])
    assert.deepEqual(tablesForEvent(spec, s3('twitter/tweets/_SUCCESS')), ['tweets'])
  })

  it('ignores removals, other buckets, other markers and scratch files', () => {
    assert.deepEqual(tablesForEvent(spec, s3('twitter/users/part-0.parquet', 'ObjectRemoved:Delete')), [])
    assert.deepEqual(tablesForEvent(spec, s3('elsewhere/users/part-0.parquet')), [])
    assert.deepEqual(tablesForEvent(spec, s3('twitter/users/_temporary/0/part-0.parquet')), [])
    assert.deepEqual(tablesForEvent(spec, s3('twitter/users/.part-0.parquet.crc')), [])
  })
})
