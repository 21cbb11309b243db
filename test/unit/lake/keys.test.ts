import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidKeyError } from '../../../src/lake/errors.js'
import { assertValidKey, dataKey, LEASE_PREFIX, leaseKey, MANIFEST_PREFIX, manifestKey, runIdOfManifestKey } from '../../../src/lake/keys.js'
import { newRunId } from '../../../src/core/run-id.js'

const RUN_ID = '20261122T093000123Z'

describe('dataKey', () => {
  it('lays out <table>/<YYYY>/<MM>/<DD>/<runId>.<ext>', () => {
    assert.equal(dataKey('sales_order', RUN_ID, 'csv'), 'sales_order/2026/11/22/20261122T093000123Z.csv')
    assert.equal(dataKey('fact_sales_order', RUN_ID, 'parquet'), 'fact_sales_order/2026/11/22/20261122T093000123Z.parquet')
  })

  it('keeps leading zeros of month and day', () => {
    const runId = newRunId(new Date('2027-01-05T00:00:00.000Z'))
    assert.equal(dataKey('staff', runId, 'csv'), `staff/2027/01/05/${runId}.csv`)
  })

  it('produces keys that assertValidKey accepts', () => {
    assert.doesNotThrow(() => assertValidKey(dataKey('sales_order', RUN_ID, 'csv')))
  })

  it('rejects an invalid run id', () => {
    assert.throws(() => dataKey('sales_order', '2026-11-22', 'csv'), /Invalid run id/)
  })

  it('rejects a table name that is not a key segment', () => {
    for (const table of ['', '.', '..', 'a\0b', 'a\\b']) {
      assert.throws(() => dataKey(table, RUN_ID, 'csv'), InvalidKeyError, `dataKey(${JSON.stringify(table)})`)
    }
  })

  it('rejects a table name containing a slash', () => {
    // A table is one segment of the layout: "sales/2026" would land inside another table's folders.
    for (const table of ['sales_order/2026', '../sales_order', 'a/']) {
      assert.throws(() => dataKey(table, RUN_ID, 'csv'), InvalidKeyError, `dataKey(${JSON.stringify(table)})`)
    }
  })
})

describe('manifestKey', () => {
  it('places manifests under _manifests/ as <runId>.json', () => {
    assert.equal(manifestKey(RUN_ID), `_manifests/${RUN_ID}.json`)
    assert.ok(manifestKey(RUN_ID).startsWith(MANIFEST_PREFIX))
  })

  it('round-trips through runIdOfManifestKey', () => {
    for (const runId of [RUN_ID, newRunId(new Date('1999-12-31T23:59:59.999Z')), newRunId()]) {
      assert.equal(runIdOfManifestKey(manifestKey(runId)), runId)
    }
  })

  it('sorts manifest keys in run order', () => {
    const ids = ['20250101T000000000Z', '20261122T093000123Z', '20261122T093000124Z']
    assert.deepEqual(ids.map(manifestKey).reverse().sort(), ids.map(manifestKey))
  })
})

describe('runIdOfManifestKey', () => {
  it('returns undefined for keys that are not manifests', () => {
    const others = [
      dataKey('sales_order', RUN_ID, 'csv'),
      `_manifests/${RUN_ID}.json.tmp`,
      `_manifests/${RUN_ID}.csv`,
      `_manifests/nested/${RUN_ID}.json`,
      `x/_manifests/${RUN_ID}.json`,
      `_leases/${RUN_ID}.json`,
      '_manifests/.json',
      '',
    ]
    for (const key of others) assert.equal(runIdOfManifestKey(key), undefined, `runIdOfManifestKey(${JSON.stringify(key)})`)
  })
})

describe('leaseKey', () => {
  it('places a stage lease under _leases/ as <stage>.json', () => {
    assert.equal(leaseKey('extract'), '_leases/extract.json')
    assert.ok(leaseKey('transform').startsWith(LEASE_PREFIX))
  })

  it('rejects a stage name that is not a key segment', () => {
    assert.throws(() => leaseKey('..'), InvalidKeyError)
    assert.throws(() => leaseKey(''), InvalidKeyError)
  })
})

describe('assertValidKey', () => {
  it('accepts relative keys of non-empty segments', () => {
    for (const key of ['a', 'a/b', 'sales_order/2026/11/22/x.csv', '_manifests/x.json', '.hidden', 'a/..b/c..', 'ünï/表 space']) {
      assert.doesNotThrow(() => assertValidKey(key), `assertValidKey(${JSON.stringify(key)})`)
    }
  })

  it('rejects the empty key', () => {
    assert.throws(() => assertValidKey(''), InvalidKeyError)
  })

  it('rejects a key with a leading slash', () => {
    assert.throws(() => assertValidKey('/etc/passwd'), InvalidKeyError)
  })

  it('rejects a key with a trailing slash or an empty segment', () => {
    assert.throws(() => assertValidKey('a/'), InvalidKeyError)
    assert.throws(() => assertValidKey('a//b'), InvalidKeyError)
  })

  it('rejects . and .. segments anywhere', () => {
    for (const key of ['..', '../x', 'a/../b', 'a/..', '.', './a', 'a/./b']) {
      assert.throws(() => assertValidKey(key), InvalidKeyError, `assertValidKey(${JSON.stringify(key)})`)
    }
  })

  it('rejects NUL', () => {
    assert.throws(() => assertValidKey('a\0b'), InvalidKeyError)
  })

  it('rejects backslashes', () => {
    assert.throws(() => assertValidKey('a\\b'), InvalidKeyError)
    assert.throws(() => assertValidKey('..\\x'), InvalidKeyError)
  })

  it('names the offending key in the message', () => {
    assert.throws(() => assertValidKey('/abs'), /"\/abs"/)
  })
})
