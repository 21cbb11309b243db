import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { twitterSpecJson } from '../../../src/datasets/twitter/twitter-spec.js'
import { LoaderSpecError } from '../../../src/loader/errors.js'
import { parseColumnType, parseLoaderSpec, readLoaderSpec } from '../../../src/loader/loader-spec.js'
import { isMarkerKey } from '../../../src/loader/parquet-files.js'

const EXAMPLE = fileURLToPath(new URL('../../../examples/twitter/spec.json', import.meta.url))

function spec(tables: unknown[], schema = 'tara_test') {
  return parseLoaderSpec(JSON.stringify({ schema, tables }), { baseDir: '/data/specs' })
}

function table(extra: Record<string, unknown> = {}) {
  return { name: 'users', prefix: 's3://bucket/twitter/users', columns: [{ name: 'user_id', type: 'bigint' }], ...extra }
}

describe('parseLoaderSpec', () => {
  it('reads the shipped Twitter spec, resolving its relative prefixes against the spec file', async () => {
    const parsed = await readLoaderSpec(EXAMPLE)
    assert.equal(parsed.schema, 'tara_test')
    assert.deepEqual(parsed.tables.map((t) => [t.name, t.mode, t.columns.length]), [['users', 'truncate', 11], ['user_followers', 'truncate', 2], ['tweets', 'truncate', 22]])
    assert.equal(parsed.tables[0]!.prefix, new URL('data/users/', new URL(`file://${EXAMPLE}`)).href)
    assert.deepEqual(parsed.tables[2]!.columns.find((c) => c.name === 'in_retweet_cnt')!.type, { kind: 'double' })
  })

  it('matches the spec the example generator writes', () => {
    assert.equal(readFileSync(EXAMPLE, 'utf8'), twitterSpecJson())
  })

  it('keeps s3 prefixes, adds the closing slash, and defaults the mode to truncate', () => {
    const [users] = spec([table()]).tables
    assert.equal(users!.prefix, 's3://bucket/twitter/users/')
    assert.equal(users!.mode, 'truncate')
    assert.equal(spec([table({ prefix: '../lake/users' })]).tables[0]!.prefix, 'file:///data/lake/users/')
  })

  it('accepts merge with a key of its columns', () => {
    const [users] = spec([table({ mode: 'merge', key: ['user_id'] })]).tables
    assert.deepEqual(users!.key, ['user_id'])
  })

  it('parses every supported type spelling', () => {
    assert.deepEqual(parseColumnType('BIGINT'), { kind: 'bigint' })
    assert.deepEqual(parseColumnType('Double Precision'), { kind: 'double' })
    assert.deepEqual(parseColumnType('float'), { kind: 'double' })
    assert.deepEqual(parseColumnType('numeric(12, 2)'), { kind: 'numeric', precision: 12, scale: 2 })
    assert.deepEqual(parseColumnType('decimal(10)'), { kind: 'numeric', precision: 10, scale: 0 })
    assert.deepEqual(parseColumnType('varchar(600)'), { kind: 'varchar', length: 600 })
    assert.deepEqual(parseColumnType('character varying(8000)'), { kind: 'varchar', length: 8000 })
    for (const kind of ['integer', 'boolean', 'text', 'date', 'timestamp'] as const) assert.deepEqual(parseColumnType(kind), { kind })
  })

  const bad: [string, () => unknown, RegExp][] = [
    ['invalid JSON', () => parseLoaderSpec('{', { baseDir: '/' }), /Cannot parse the loader spec: .*Fix the JSON/],
    ['no tables', () => spec([]), /"tables" must be a non-empty array/],
    ['an unknown type', () => spec([table({ columns: [{ name: 'geo', type: 'geometry' }] })]), /column "geo" type "geometry" is not supported: use bigint/],
    ['a varchar without room', () => spec([table({ columns: [{ name: 'n', type: 'varchar(0)' }] })]), /column "n" type "varchar\(0\)" needs a length/],
    ['too much precision', () => spec([table({ columns: [{ name: 'n', type: 'numeric(40,2)' }] })]), /precision <= 38/],
    ['a bad mode', () => spec([table({ mode: 'upsert' })]), /table "users" "mode" must be one of truncate, append, merge \(got "upsert"\)/],
    ['merge without a key', () => spec([table({ mode: 'merge' })]), /table "users" "key" must list the merge key columns/],
    ['a key outside the columns', () => spec([table({ mode: 'merge', key: ['id'] })]), /table "users" key column "id" is not one of its columns/],
    ['a key outside merge mode', () => spec([table({ key: ['user_id'] })]), /"key" is only for merge mode \(mode is truncate\)/],
    ['a table twice', () => spec([table(), table()]), /table "users" appears twice/],
    ['a column twice', () => spec([table({ columns: [{ name: 'a', type: 'text' }, { name: 'a', type: 'text' }] })]), /column "a" appears twice/],
    ['another scheme', () => spec([table({ prefix: 'https://example.com/users/' })]), /has scheme "https:": use file:\/\/ or s3:\/\//],
    ['an s3 URL without a bucket', () => spec([table({ prefix: 's3:///users/' })]), /must name a bucket/],
    ['no schema', () => parseLoaderSpec(JSON.stringify({ tables: [table()] }), { baseDir: '/' }), /"schema" must be a non-empty string/],
  ]
  for (const [what, run, message] of bad) {
    it(`rejects ${what} with a message naming the field`, () => {
      assert.throws(run, (error: Error) => {
        assert.ok(error instanceof LoaderSpecError)
        assert.match(error.message, message)
        return true
      })
    })
  }

  it('names the spec file it cannot read', async () => {
    await assert.rejects(readLoaderSpec('/no/such/spec.json'), /Cannot read the loader spec "\/no\/such\/spec.json": .*Check the --spec path/)
  })
})

describe('isMarkerKey', () => {
  it('treats files and folders starting with _ or . as markers, and the rest as data', () => {
    for (const key of ['_SUCCESS', '.part-0.crc', '_temporary/0/part-1.parquet', 'x/_committed_123', '_starline_manifests/a.json']) assert.ok(isMarkerKey(key), key)
    for (const key of ['part-0.parquet', 'batch=2/part-1.snappy.parquet', '2024/01/data']) assert.ok(!isMarkerKey(key), key)
  })
})
