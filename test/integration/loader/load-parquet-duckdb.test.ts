/**
 * The Parquet loader on a DuckDB warehouse file, with the Twitter sample:
 * exact values, duplicate runs, and a failed load that changes nothing.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import type { TwitterSampleSummary } from '../../../src/datasets/twitter/twitter-sample.js'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { openObjectStore } from '../../../src/lake/open-object-store.js'
import { parseLoaderSpec, type LoaderSpec, type LoaderTable } from '../../../src/loader/loader-spec.js'
import { loaderAnswer, loadParquet } from '../../../src/pipeline/load-parquet.js'
import { openTableLoads } from '../../../src/runtime/open-table-loads.js'
import { quoteIdent, quoteLiteral } from '../../../src/sql/quote.js'
import { copyTableDir, expectedRows, normalizeRows, twitterSample, twitterSpec, TWITTER_KEYS, type TextRow } from '../../support/twitter-loader.js'

let sample: TwitterSampleSummary
before(async () => {
  sample = await twitterSample(200)
})

function warehouseFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'starline-duckdb-wh-')), 'warehouse.duckdb')
}

/** Runs `sql` on the warehouse file (opened only while the loader is not running). */
async function onWarehouse<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const db = await openDuckDb({ scratchDir: tmpdir() })
  try {
    await db.run(`ATTACH ${quoteLiteral(path)} AS wh`)
    await db.run('USE wh')
    return await db.all<T>(sql)
  } finally {
    db.close()
  }
}

async function rows(path: string, table: LoaderTable): Promise<TextRow[]> {
  const key = TWITTER_KEYS[table.name as keyof typeof TWITTER_KEYS]
  const columns = table.columns.map((c) => `CAST(${quoteIdent(c.name)} AS VARCHAR) AS ${quoteIdent(c.name)}`).join(', ')
  const found = await onWarehouse<Record<string, string | null>>(path, `SELECT ${columns} FROM tara_test.${quoteIdent(table.name)} ORDER BY ${quoteIdent(key)}`)
  return normalizeRows(table, found.map((r) => table.columns.map((c) => r[c.name] ?? null)))
}

function load(path: string, spec: LoaderSpec, force = false) {
  const tableLoads = openTableLoads(`duckdb://${path}`)
  return loadParquet({ spec, tableLoads, openStore: openObjectStore, force })
}

describe('loadParquet into DuckDB', () => {
  it('loads the Twitter example with the exact rows DuckDB reads from the files, and skips a repeated run', async () => {
    const path = warehouseFile()
    const spec = twitterSpec(sample)
    const summary = await load(path, spec)
    assert.deepEqual(summary.tables.map((t) => [t.name, t.rows, t.created]), [['users', 50, true], ['user_followers', 50, true], ['tweets', 200, true]])
    for (const t of spec.tables) assert.deepEqual(await rows(path, t), await expectedRows(t), `table ${t.name}`)
    const [typed] = await onWarehouse<{ t: string }>(path, "SELECT typeof(id) || ' ' || typeof(created_at) AS t FROM tara_test.tweets LIMIT 1")
    assert.equal(typed?.t, 'BIGINT TIMESTAMP')
    const again = await load(path, spec)
    assert.deepEqual(again.tables.map((t) => t.skipped), [true, true, true])
    const forced = await load(path, spec, true)
    assert.deepEqual(forced.tables.map((t) => [t.rows, t.created]), [[50, false], [50, false], [200, false]])
    for (const t of spec.tables) assert.deepEqual(await rows(path, t), await expectedRows(t), `table ${t.name} after a second truncate run`)
  })

  it('appends in append mode and replaces rows by key in merge mode', async () => {
    const path = warehouseFile()
    const only = (name: string, extra: Record<string, unknown>) =>
      twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === name).map((t) => ({ ...t, ...extra }))
      })
    await load(path, only('users', { mode: 'append' }))
    copyTableDir(sample, 'users', 'users_again_duckdb')
    const appended = await load(path, only('users', { mode: 'append', prefix: 'data/users_again_duckdb/' }))
    assert.equal(appended.tables[0]!.rows, 50)
    const [users] = await onWarehouse<{ n: string; keys: string }>(path, 'SELECT count(*) AS n, count(DISTINCT user_id) AS keys FROM tara_test.users')
    assert.deepEqual(users, { n: '100', keys: '50' })

    await load(path, only('tweets', { mode: 'merge', key: ['id'] }))
    const changes = join(sample.dir, 'data', 'tweet_changes_duckdb')
    mkdirSync(changes)
    const source = join(sample.dir, 'data', 'tweets', 'part-00000.snappy.parquet')
    const db = await openDuckDb({ scratchDir: tmpdir() })
    try {
      await db.run(
        `COPY ((SELECT * REPLACE ('edited' AS full_text) FROM read_parquet(${quoteLiteral(source)}) ORDER BY id LIMIT 10)
          UNION ALL (SELECT * REPLACE (1800000000000000000::BIGINT AS id) FROM read_parquet(${quoteLiteral(source)}) ORDER BY id LIMIT 1))
         TO ${quoteLiteral(join(changes, 'part-0.parquet'))} (FORMAT parquet)`,
      )
    } finally {
      db.close()
    }
    const merged = await load(path, only('tweets', { mode: 'merge', key: ['id'], prefix: 'data/tweet_changes_duckdb/' }))
    assert.equal(merged.tables[0]!.rows, 11)
    const [tweets] = await onWarehouse(
      path,
      "SELECT count(*)::INT AS n, count(*) FILTER (WHERE full_text = 'edited')::INT AS edited, count(*) FILTER (WHERE id = 1800000000000000000)::INT AS added FROM tara_test.tweets",
    )
    assert.deepEqual(tweets, { n: 201, edited: 10, added: 1 })
  })

  it('quotes hostile schema, table and column names', async () => {
    const path = warehouseFile()
    const dir = join(sample.dir, 'data', 'hostile_duckdb')
    mkdirSync(dir)
    const db = await openDuckDb({ scratchDir: tmpdir() })
    try {
      await db.run(`COPY (SELECT 42::BIGINT AS "we""ird; col", 'x' AS "Name") TO ${quoteLiteral(join(dir, 'part-0.parquet'))} (FORMAT parquet)`)
    } finally {
      db.close()
    }
    const spec = parseLoaderSpec(
      JSON.stringify({
        schema: 'odd"; DROP SCHEMA main; --',
        tables: [{ name: "ta'ble", prefix: 'data/hostile_duckdb/', mode: 'merge', key: ['we"ird; col'], columns: [{ name: 'we"ird; col', type: 'bigint' }, { name: 'Name', type: 'varchar(3)' }] }],
      }),
      { baseDir: sample.dir },
    )
    await load(path, spec)
    await load(path, spec, true)
    const rows = await onWarehouse(path, `SELECT CAST("we""ird; col" AS VARCHAR) AS id, "Name" FROM ${quoteIdent('odd"; DROP SCHEMA main; --')}.${quoteIdent("ta'ble")}`)
    assert.deepEqual(rows, [{ id: '42', Name: 'x' }])
  })

  it('refuses values past an integer range or a numeric precision, and types that cannot convert, before any change', async () => {
    const path = warehouseFile()
    const dir = join(sample.dir, 'data', 'numbers')
    mkdirSync(dir)
    const db = await openDuckDb({ scratchDir: tmpdir() })
    try {
      await db.run(
        `COPY (SELECT * FROM (VALUES (1, 12.5, true), (3000000000, 123.45, false)) v(n, amount, flag)) TO ${quoteLiteral(join(dir, 'part-0.parquet'))} (FORMAT parquet)`,
      )
    } finally {
      db.close()
    }
    const attempt = async (columns: { name: string; type: string }[]) => {
      const spec = parseLoaderSpec(JSON.stringify({ schema: 'nums', tables: [{ name: 'numbers', prefix: 'data/numbers/', columns }] }), { baseDir: sample.dir })
      return loaderAnswer(() => load(path, spec))
    }
    const base = [{ name: 'n', type: 'bigint' }, { name: 'amount', type: 'numeric(6,2)' }, { name: 'flag', type: 'boolean' }]
    const cases: [{ name: string; type: string }[], RegExp][] = [
      [[{ name: 'n', type: 'integer' }, base[1]!, base[2]!], /1 value\(s\) in column "n" that do not fit integer, e\.g\. "3000000000"/],
      [[base[0]!, { name: 'amount', type: 'numeric(4,2)' }, base[2]!], /1 value\(s\) in column "amount" that do not fit numeric\(4,2\), e\.g\. "123\.45"/],
      [[base[0]!, base[1]!, { name: 'flag', type: 'bigint' }], /has column "flag" as BOOLEAN, which cannot load into bigint/],
    ]
    for (const [columns, message] of cases) {
      const answer = await attempt(columns)
      assert.equal(answer.statusCode, 400)
      assert.match(JSON.parse(answer.body).error, message)
    }
    assert.deepEqual(await onWarehouse(path, "SELECT schema_name FROM duckdb_schemas() WHERE schema_name = 'nums'"), [])
    const fine = await attempt(base)
    assert.equal(fine.statusCode, 200, fine.body)
    assert.deepEqual(await onWarehouse(path, 'SELECT CAST(n AS VARCHAR) AS n, CAST(amount AS VARCHAR) AS amount, flag FROM nums.numbers ORDER BY n'), [
      { n: '1', amount: '12.50', flag: true },
      { n: '3000000000', amount: '123.45', flag: false },
    ])
  })

  it('refuses values a cast would round (scale, fractional text, nanoseconds) before any change, and loads exact ones', async () => {
    const path = warehouseFile()
    const dir = join(sample.dir, 'data', 'roundings')
    mkdirSync(dir)
    const db = await openDuckDb({ scratchDir: tmpdir() })
    try {
      await db.run(
        `COPY (SELECT * FROM (VALUES (1.2300::DECIMAL(10,4), 0.5::DOUBLE, ' 42', '7.10', '2024-05-01 10:00:00.123456'::TIMESTAMP_NS), ` +
          `(1.2345::DECIMAL(10,4), 0.125::DOUBLE, '1.5', '7.125', '2024-05-01 10:00:00.123456789'::TIMESTAMP_NS)) ` +
          `v(scaled, ratio, count_text, amount_text, happened)) TO ${quoteLiteral(join(dir, 'part-0.parquet'))} (FORMAT parquet)`,
      )
    } finally {
      db.close()
    }
    const attempt = async (columns: { name: string; type: string }[], where = 'data/roundings/') => {
      const spec = parseLoaderSpec(JSON.stringify({ schema: 'rounds', tables: [{ name: 'roundings', prefix: where, columns }] }), { baseDir: sample.dir })
      return loaderAnswer(() => load(path, spec))
    }
    const base = [
      { name: 'scaled', type: 'numeric(10,4)' },
      { name: 'ratio', type: 'float' },
      { name: 'count_text', type: 'text' },
      { name: 'amount_text', type: 'text' },
      { name: 'happened', type: 'text' },
    ]
    const swap = (name: string, type: string) => base.map((c) => (c.name === name ? { name, type } : c))
    const cases: [{ name: string; type: string }[], RegExp][] = [
      [swap('scaled', 'numeric(10,2)'), /1 value\(s\) in column "scaled" that do not fit numeric\(10,2\), e\.g\. "1\.2345"/],
      [swap('ratio', 'numeric(10,2)'), /1 value\(s\) in column "ratio" that do not fit numeric\(10,2\), e\.g\. "0\.125"/],
      [swap('count_text', 'bigint'), /1 value\(s\) in column "count_text" that do not fit bigint, e\.g\. "1\.5"/],
      [swap('amount_text', 'numeric(8,2)'), /1 value\(s\) in column "amount_text" that do not fit numeric\(8,2\), e\.g\. "7\.125"/],
      [swap('happened', 'timestamp'), /1 value\(s\) in column "happened" that do not fit timestamp, e\.g\. "2024-05-01 10:00:00\.123456789"/],
    ]
    for (const [columns, message] of cases) {
      const answer = await attempt(columns)
      assert.equal(answer.statusCode, 400, answer.body)
      assert.match(JSON.parse(answer.body).error, message)
    }
    assert.deepEqual(await onWarehouse(path, "SELECT schema_name FROM duckdb_schemas() WHERE schema_name = 'rounds'"), [])
    // The first row alone fits every narrower type exactly.
    const exactDir = join(sample.dir, 'data', 'roundings_exact')
    mkdirSync(exactDir)
    const db2 = await openDuckDb({ scratchDir: tmpdir() })
    try {
      await db2.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(join(dir, 'part-0.parquet'))}) LIMIT 1) TO ${quoteLiteral(join(exactDir, 'part-0.parquet'))} (FORMAT parquet)`)
    } finally {
      db2.close()
    }
    const columns = [
      { name: 'scaled', type: 'numeric(10,2)' },
      { name: 'ratio', type: 'numeric(10,2)' },
      { name: 'count_text', type: 'bigint' },
      { name: 'amount_text', type: 'numeric(8,2)' },
      { name: 'happened', type: 'timestamp' },
    ]
    const fine = await attempt(columns, 'data/roundings_exact/')
    assert.equal(fine.statusCode, 200, fine.body)
    assert.deepEqual(
      await onWarehouse(path, 'SELECT CAST(scaled AS VARCHAR) AS s, CAST(ratio AS VARCHAR) AS r, CAST(count_text AS VARCHAR) AS n, CAST(amount_text AS VARCHAR) AS a, CAST(happened AS VARCHAR) AS t FROM rounds.roundings'),
      [{ s: '1.23', r: '0.50', n: '42', a: '7.10', t: '2024-05-01 10:00:00.123456' }],
    )
  })

  it('rolls every table back when one table fails inside the transaction', async () => {
    const path = warehouseFile()
    const spec = twitterSpec(sample)
    await load(path, spec)
    // users loses rows a reload would bring back; tweets loses a column the load needs.
    await onWarehouse(path, 'DELETE FROM tara_test.users WHERE user_id % 2 = 0')
    await onWarehouse(path, 'ALTER TABLE tara_test.tweets DROP COLUMN lang')
    const before = await onWarehouse<{ n: string }>(path, 'SELECT count(*) AS n FROM tara_test.users')
    const answer = await loaderAnswer(() => load(path, spec, true))
    assert.equal(answer.statusCode, 400)
    assert.match(JSON.parse(answer.body).error, /Table "tara_test"\."tweets" exists without column\(s\) "lang"/)
    assert.deepEqual(await onWarehouse(path, 'SELECT count(*) AS n FROM tara_test.users'), before)
  })
})
