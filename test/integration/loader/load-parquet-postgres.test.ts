/**
 * The Parquet loader on a real PostgreSQL, with the Twitter sample: exact
 * values, truncate/append/merge, duplicate runs, and failures that change nothing.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { TwitterSampleSummary } from '../../../src/datasets/twitter/twitter-sample.js'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { openObjectStore } from '../../../src/lake/open-object-store.js'
import { parseLoaderSpec, type LoaderSpec, type LoaderTable } from '../../../src/loader/loader-spec.js'
import { loaderAnswer, loadParquet } from '../../../src/pipeline/load-parquet.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { qualify, quoteIdent, quoteLiteral } from '../../../src/sql/quote.js'
import { PostgresTableLoads } from '../../../src/warehouse/postgres/postgres-table-loads.js'
import { LOADER_LEDGER_TABLE, type TableLoads } from '../../../src/warehouse/table-loads.js'
import { copyTableDir, expectedRows, normalizeRows, twitterSample, twitterSpec, TWITTER_KEYS, type TextRow } from '../../support/twitter-loader.js'

let server: EmbeddedPostgresServer
let sample: TwitterSampleSummary
let counter = 0
before(async () => {
  server = await startEmbeddedPostgres()
  sample = await twitterSample(300)
})
after(() => server?.stop())

async function warehouse() {
  const url = await server.createDatabase(`loader_${++counter}`)
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  // The server stops after the last test: an idle client's error then is expected.
  pool.on('error', () => {})
  const tableLoads = new PostgresTableLoads({ pool })
  return {
    url,
    pool,
    load: (spec: LoaderSpec, extra: { tables?: string[]; force?: boolean } = {}) =>
      loadParquet({ spec, tableLoads, openStore: openObjectStore, ...extra }),
    answer: (spec: LoaderSpec, extra: { force?: boolean } = {}) => loaderAnswer(() => loadParquet({ spec, tableLoads, openStore: openObjectStore, ...extra })),
    rows: (table: LoaderTable) => warehouseRows(pool, 'tara_test', table),
    snapshot: async () => {
      const out: Record<string, unknown> = {}
      const tables = await pool.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tara_test' ORDER BY table_name",
      )
      for (const { table_name } of tables.rows) {
        out[table_name] = (await pool.query(`SELECT t::text AS r FROM ${qualify('tara_test', table_name)} t ORDER BY 1`)).rows.map((r) => r.r)
      }
      return out
    },
    close: () => pool.end(),
  }
}

/** A warehouse table's rows as text, in the same key order as `expectedRows`. */
async function warehouseRows(pool: pg.Pool, schema: string, table: LoaderTable): Promise<TextRow[]> {
  const key = TWITTER_KEYS[table.name as keyof typeof TWITTER_KEYS] ?? table.columns[0]!.name
  const columns = table.columns.map((c) => `${quoteIdent(c.name)}::text`).join(', ')
  const result = await pool.query({ text: `SELECT ${columns} FROM ${qualify(schema, table.name)} ORDER BY ${quoteIdent(key)}`, rowMode: 'array' })
  return normalizeRows(table, result.rows as TextRow[])
}

function table(spec: LoaderSpec, name: string): LoaderTable {
  return spec.tables.find((t) => t.name === name)!
}

describe('loadParquet into PostgreSQL', () => {
  it('loads the Twitter example with the exact rows DuckDB reads from the files', async () => {
    const wh = await warehouse()
    try {
      const spec = twitterSpec(sample)
      const summary = await wh.load(spec)
      assert.deepEqual(
        summary.tables.map((t) => [t.name, t.mode, t.rows, t.created, t.skipped]),
        [
          ['users', 'truncate', 75, true, false],
          ['user_followers', 'truncate', 75, true, false],
          ['tweets', 'truncate', 300, true, false],
        ],
      )
      for (const t of spec.tables) assert.deepEqual(await wh.rows(t), await expectedRows(t), `table ${t.name}`)
      // 2^53 + 1 would come back as 2^53 through a double: ids stay exact.
      const ids = await wh.pool.query("SELECT id::text FROM tara_test.tweets WHERE id = 1700000000000000001")
      assert.deepEqual(ids.rows, [{ id: '1700000000000000001' }])
      const [emoji] = (await wh.pool.query("SELECT count(*)::int AS n FROM tara_test.tweets WHERE full_text LIKE '%👋🏽%' AND full_text LIKE E'%\\n%'")).rows
      assert.ok(emoji.n > 0)
    } finally {
      await wh.close()
    }
  })

  it('skips an unchanged file set, and a forced truncate run leaves the same contents', async () => {
    const wh = await warehouse()
    try {
      const spec = twitterSpec(sample)
      await wh.load(spec)
      const before = await wh.snapshot()
      const again = await wh.load(spec)
      assert.deepEqual(again.tables.map((t) => [t.name, t.skipped, t.rows]), [['users', true, 0], ['user_followers', true, 0], ['tweets', true, 0]])
      const forced = await wh.load(spec, { force: true })
      assert.deepEqual(forced.tables.map((t) => [t.name, t.rows, t.created]), [['users', 75, false], ['user_followers', 75, false], ['tweets', 300, false]])
      const afterRuns = await wh.snapshot()
      delete (before as Record<string, unknown>)[LOADER_LEDGER_TABLE]
      delete (afterRuns as Record<string, unknown>)[LOADER_LEDGER_TABLE]
      assert.deepEqual(afterRuns, before)
    } finally {
      await wh.close()
    }
  })

  it('appends rows in append mode and replaces rows by key in merge mode', async () => {
    const wh = await warehouse()
    try {
      const appendSpec = twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === 'users').map((t) => ({ ...t, mode: 'append' }))
      })
      await wh.load(appendSpec)
      // A second file set under another prefix: the same rows again, appended.
      copyTableDir(sample, 'users', 'users_again')
      const again = twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === 'users').map((t) => ({ ...t, mode: 'append', prefix: 'data/users_again/' }))
      })
      const appended = await wh.load(again)
      assert.equal(appended.tables[0]!.rows, 75)
      const expected = await expectedRows(table(appendSpec, 'users'))
      const doubled = [...expected, ...expected].sort(compareRows)
      assert.deepEqual((await wh.rows(table(appendSpec, 'users'))).slice().sort(compareRows), doubled)

      // A producer adds a part file to the prefix: only its rows are appended, and only once.
      const usersDir = join(sample.dir, 'data', 'users_again')
      await writeParquet(
        `SELECT * REPLACE (user_id + 1 AS user_id) FROM read_parquet(${quoteLiteral(join(usersDir, 'part-00000-c000.zstd.parquet'))}) LIMIT 5`,
        join(usersDir, 'part-00003-c000.zstd.parquet'),
      )
      const added = await wh.load(again)
      assert.deepEqual(added.tables.map((t) => [t.rows, t.skipped]), [[5, false]])
      const repeated = await wh.load(again)
      assert.deepEqual(repeated.tables.map((t) => [t.rows, t.skipped]), [[0, true]])
      const [{ n }] = (await wh.pool.query('SELECT count(*)::int AS n FROM tara_test.users')).rows
      assert.equal(n, 155)
      // A part file rewritten in place is refused: appending it again would duplicate its old rows.
      await writeParquet(`SELECT * FROM read_parquet(${quoteLiteral(join(usersDir, 'part-00003-c000.zstd.parquet'))}) LIMIT 4`, join(usersDir, 'part-00003-c000.zstd.parquet.new'))
      const { renameSync } = await import('node:fs')
      renameSync(join(usersDir, 'part-00003-c000.zstd.parquet.new'), join(usersDir, 'part-00003-c000.zstd.parquet'))
      const rewritten = await wh.answer(again)
      assert.equal(rewritten.statusCode, 400)
      assert.match(JSON.parse(rewritten.body).error, /part-00003-c000\.zstd\.parquet changed since it was appended/)

      // Merge: changed rows replace theirs by key, new keys are added, the others stay.
      const mergeSpec = twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === 'tweets').map((t) => ({ ...t, mode: 'merge', key: ['id'] }))
      })
      await wh.load(mergeSpec)
      const changes = join(sample.dir, 'data', 'tweet_changes')
      await writeChanges(table(mergeSpec, 'tweets'), changes)
      const merge2 = twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === 'tweets').map((t) => ({ ...t, mode: 'merge', key: ['id'], prefix: 'data/tweet_changes/' }))
      })
      const merged = await wh.load(merge2)
      assert.equal(merged.tables[0]!.rows, 11)
      const [counts] = (await wh.pool.query(
        "SELECT count(*)::int AS n, count(*) FILTER (WHERE full_text = 'edited')::int AS edited, count(*) FILTER (WHERE id = 1800000000000000000)::int AS added FROM tara_test.tweets",
      )).rows
      assert.deepEqual(counts, { n: 301, edited: 10, added: 1 })
    } finally {
      await wh.close()
    }
  })

  it('loads an append prefix once when two overlapping events load it at the same time', async () => {
    const wh = await warehouse()
    const other = new pg.Pool({ connectionString: wh.url, max: 2 })
    other.on('error', () => {})
    try {
      const spec = twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === 'users').map((t) => ({ ...t, mode: 'append' }))
      })
      // Both loads read the ledger before either takes the lock: the race the events hit.
      let release!: () => void
      const bothPlanned = new Promise<void>((resolve) => (release = resolve))
      let planned = 0
      const racing = (inner: PostgresTableLoads): TableLoads => ({
        capabilities: inner.capabilities,
        lastLoads: async (schema) => {
          const last = await inner.lastLoads(schema)
          if (++planned === 2) release()
          if (planned <= 2) await bothPlanned
          return last
        },
        load: (schema, tables) => inner.load(schema, tables),
        close: () => inner.close(),
      })
      const summaries = await Promise.all(
        [wh.pool, other].map((pool) => loadParquet({ spec, tableLoads: racing(new PostgresTableLoads({ pool })), openStore: openObjectStore })),
      )
      assert.deepEqual(summaries.map((s) => [s.tables[0]!.rows, s.tables[0]!.skipped]).sort(), [[0, true], [75, false]])
      const expected = await expectedRows(table(spec, 'users'))
      assert.deepEqual((await wh.rows(table(spec, 'users'))).slice().sort(compareRows), expected.slice().sort(compareRows))
      assert.equal(planned, 3)
    } finally {
      await other.end()
      await wh.close()
    }
  })

  it('replaces a truncate table without blocking a reader that holds it open', async () => {
    const wh = await warehouse()
    const reader = new pg.Client({ connectionString: wh.url })
    await reader.connect()
    try {
      const spec = twitterSpec(sample, (raw) => {
        raw.tables = raw.tables.filter((t) => t.name === 'users')
      })
      await wh.load(spec)
      // A report reading the table in an open transaction holds ACCESS SHARE, which TRUNCATE would wait for.
      await reader.query('BEGIN')
      assert.equal((await reader.query('SELECT count(*)::int AS n FROM tara_test.users')).rows[0].n, 75)
      let timer: NodeJS.Timeout | undefined
      const waited = new Promise<'blocked'>((resolve) => (timer = setTimeout(() => resolve('blocked'), 10_000)))
      const outcome = await Promise.race([wh.load(spec, { force: true }).then(() => 'loaded' as const), waited])
      clearTimeout(timer)
      assert.equal(outcome, 'loaded')
      // The reader's snapshot still sees the old rows, and the new ones after it ends.
      assert.equal((await reader.query('SELECT count(*)::int AS n FROM tara_test.users')).rows[0].n, 75)
    } finally {
      await reader.query('COMMIT').catch(() => undefined)
      await reader.end()
      await wh.close()
    }
  })

  it('rolls every table back when one table fails inside the transaction', async () => {
    const wh = await warehouse()
    try {
      const spec = twitterSpec(sample)
      await wh.load(spec)
      // users loses rows a reload would bring back; tweets loses a column the load needs.
      await wh.pool.query('DELETE FROM tara_test.users WHERE user_id % 2 = 0')
      await wh.pool.query('ALTER TABLE tara_test.tweets DROP COLUMN lang')
      const before = await wh.snapshot()
      const answer = await wh.answer(spec, { force: true })
      assert.equal(answer.statusCode, 400)
      assert.match(JSON.parse(answer.body).error, /Table "tara_test"\."tweets" exists without column\(s\) "lang"/)
      assert.deepEqual(await wh.snapshot(), before)
    } finally {
      await wh.close()
    }
  })

  it('reads legacy INT96 timestamps (Spark, written by pyarrow) as exact timestamps', async () => {
    const wh = await warehouse()
    try {
      // test/fixtures/loader/spark-int96: pyarrow 25 with use_deprecated_int96_timestamps=True, as Spark writes.
      const prefix = new URL('../../fixtures/loader/spark-int96/', import.meta.url).href
      const spec = parseLoaderSpec(
        JSON.stringify({ schema: 'legacy', tables: [{ name: 'events', prefix, columns: [{ name: 'id', type: 'bigint' }, { name: 'created_at', type: 'timestamp' }, { name: 'name', type: 'text' }] }] }),
        { baseDir: '/' },
      )
      const summary = await wh.load(spec)
      assert.equal(summary.tables[0]!.rows, 3)
      const rows = await wh.pool.query({ text: 'SELECT e.id::text, e.created_at::text, e.name FROM legacy.events e ORDER BY e.id NULLS LAST', rowMode: 'array' })
      assert.deepEqual(rows.rows, [
        ['9007199254740993', '2015-06-01 12:30:45.123456', 'Željka 😀'],
        ['1700000000000000001', '1999-12-31 23:59:59.999999', 'line\nbreak "q"'],
        [null, null, null],
      ])
    } finally {
      await wh.close()
    }
  })

  it('quotes hostile schema, table and column names', async () => {
    const wh = await warehouse()
    try {
      const dir = join(sample.dir, 'data', 'hostile')
      const { mkdirSync } = await import('node:fs')
      mkdirSync(dir, { recursive: true })
      await writeParquet(`SELECT 42::BIGINT AS "we""ird; col", 'x' AS "Name"`, join(dir, 'part-0.parquet'))
      const spec = parseLoaderSpec(
        JSON.stringify({
          schema: 'odd"; DROP SCHEMA public; --',
          tables: [{ name: 'ta"ble', prefix: 'data/hostile/', mode: 'merge', key: ['we"ird; col'], columns: [{ name: 'we"ird; col', type: 'bigint' }, { name: 'Name', type: 'varchar(3)' }] }],
        }),
        { baseDir: sample.dir },
      )
      await wh.load(spec)
      await wh.load(spec, { force: true })
      const rows = await wh.pool.query(`SELECT * FROM ${qualify('odd"; DROP SCHEMA public; --', 'ta"ble')}`)
      assert.deepEqual(rows.rows, [{ 'we"ird; col': '42', Name: 'x' }])
    } finally {
      await wh.close()
    }
  })

  it('refuses names PostgreSQL would cut at 63 bytes, before anything loads (two long names must not become one table)', async () => {
    const wh = await warehouse()
    try {
      const stem = 'x'.repeat(70)
      const spec = parseLoaderSpec(
        JSON.stringify({
          schema: 'long_names',
          tables: ['a', 'b'].map((suffix) => ({ name: `${stem}_${suffix}`, prefix: 'data/users/', columns: [{ name: 'user_id', type: 'bigint' }] })),
        }),
        { baseDir: sample.dir },
      )
      const answer = await wh.answer(spec)
      assert.equal(answer.statusCode, 400)
      assert.match(answer.body, /at most 63 bytes.*table \\"x{70}_a\\", table \\"x{70}_b\\" are longer/)
      const schemas = await wh.pool.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'long_names'")
      assert.equal(schemas.rowCount, 0, 'nothing was created')
    } finally {
      await wh.close()
    }
  })

  it('fails on a file with other columns, a value too long for its varchar, or a missing prefix, and changes nothing', async () => {
    const wh = await warehouse()
    try {
      await wh.load(twitterSpec(sample))
      const before = await wh.snapshot()

      const tooLong = twitterSpec(sample, (raw) => {
        const users = raw.tables.find((t) => t.name === 'users') as { columns: { name: string; type: string }[] }
        users.columns.find((c) => c.name === 'name')!.type = 'varchar(12)'
      })
      const long = await wh.answer(tooLong)
      assert.equal(long.statusCode, 400)
      assert.match(JSON.parse(long.body).error, /Table "users": .* value\(s\) in column "name" that do not fit varchar\(12\)/)

      const missing = twitterSpec(sample, (raw) => {
        raw.tables[2] = { ...raw.tables[2], prefix: 'data/no_such_table/' }
      })
      const gone = await wh.answer(missing)
      assert.equal(gone.statusCode, 400)
      assert.match(JSON.parse(gone.body).error, /Table "tweets": no Parquet file under file:.*no_such_table\//)

      const unfinished = await wh.answer(twitterSpec(sample, (raw) => {
        raw.tables[1] = { ...raw.tables[1], marker: '_DONE' }
      }))
      assert.equal(unfinished.statusCode, 503)
      assert.match(JSON.parse(unfinished.body).error, /Table "user_followers": no "_DONE" marker under .*Run again once it has/)

      // Last: a wrong file in the users prefix (the other tests above read it too).
      const wrongDir = copyTableDir(sample, 'users', 'users_wrong')
      await writeParquet(`SELECT 1::BIGINT AS user_id, 'x' AS name, 'extra' AS nickname`, join(wrongDir, 'part-00009.parquet'))
      const wrong = await wh.answer(twitterSpec(sample, (raw) => {
        raw.tables[0] = { ...raw.tables[0], prefix: 'data/users_wrong/' }
      }))
      assert.equal(wrong.statusCode, 400)
      assert.match(JSON.parse(wrong.body).error, /Table "users": file:.*part-00009\.parquet lacks "screen_name".* and has extra "nickname"/)

      assert.deepEqual(await wh.snapshot(), before)
    } finally {
      await wh.close()
    }
  })
})

function compareRows(a: TextRow, b: TextRow): number {
  const x = JSON.stringify(a)
  const y = JSON.stringify(b)
  return x < y ? -1 : x > y ? 1 : 0
}

async function writeParquet(select: string, path: string): Promise<void> {
  const db = await openDuckDb({ scratchDir: '/tmp' })
  try {
    await db.run(`COPY (${select}) TO ${quoteLiteral(path)} (FORMAT parquet)`)
  } finally {
    db.close()
  }
}

/** Ten edited tweets and one new one, as a producer's change set. */
async function writeChanges(tweets: LoaderTable, dir: string): Promise<void> {
  const { mkdirSync } = await import('node:fs')
  mkdirSync(dir, { recursive: true })
  const source = join(sample.dir, 'data', 'tweets', 'part-00000.snappy.parquet')
  await writeParquet(
    `(SELECT * REPLACE ('edited' AS full_text) FROM read_parquet(${quoteLiteral(source)}) ORDER BY id LIMIT 10)
     UNION ALL (SELECT * REPLACE (1800000000000000000::BIGINT AS id) FROM read_parquet(${quoteLiteral(source)}) ORDER BY id LIMIT 1)`,
    join(dir, 'part-00000.parquet'),
  )
  writeFileSync(join(dir, '_SUCCESS'), '')
  void tweets
}
