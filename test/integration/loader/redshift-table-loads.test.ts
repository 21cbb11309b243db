/**
 * The Parquet loader's Redshift SQL: pinned by golden files (UPDATE_GOLDEN=1
 * rewrites them), and every statement PostgreSQL also accepts is run on a
 * real PostgreSQL, in one transaction, as Redshift would run the batch.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { LoaderDataError, LoaderSpecError } from '../../../src/loader/errors.js'
import { parseColumnType, parseLoaderSpec } from '../../../src/loader/loader-spec.js'
import { loadParquet } from '../../../src/pipeline/load-parquet.js'
import { quoteLiteral } from '../../../src/sql/quote.js'
import { openTableLoads } from '../../../src/runtime/open-table-loads.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { loadErrorsSql } from '../../../src/warehouse/redshift/redshift-loader-sql.js'
import { MANIFEST_FOLDER, RedshiftTableLoads, type RedshiftStatements } from '../../../src/warehouse/redshift/redshift-table-loads.js'
import { LoaderLedgerChangedError } from '../../../src/warehouse/errors.js'
import type { TableLoad } from '../../../src/warehouse/table-loads.js'
import { useEnv } from '../../support/moto-server.js'

const GOLDEN = fileURLToPath(new URL('../../golden/redshift-loader/', import.meta.url))
const ROLE = 'arn:aws:iam::123456789012:role/RedshiftRole'

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name)
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, actual)
  assert.equal(actual, readFileSync(path, 'utf8'), `golden file ${name} (UPDATE_GOLDEN=1 rewrites it)`)
}

function usersLoad(mode: TableLoad['mode'], key: string[] = []): TableLoad {
  const prefix = 's3://research-lake/twitter/users/'
  return {
    name: 'users',
    mode,
    key,
    prefix,
    columns: [
      { name: 'user_id', type: parseColumnType('bigint') },
      { name: 'name', type: parseColumnType('varchar(600)') },
      { name: 'bio', type: parseColumnType('text') },
      { name: 'score', type: parseColumnType('numeric(12,2)') },
      { name: 'ratio', type: parseColumnType('float') },
      { name: 'protected', type: parseColumnType('boolean') },
      { name: 'created_at', type: parseColumnType('timestamp') },
    ],
    files: ['part-00000.snappy.parquet', 'batch=2/part-00001.snappy.parquet'].map((key, i) => ({
      key,
      url: `${prefix}${key}`,
      localPath: `/tmp/${key}`,
      size: 1000 + i,
      sha256: String(i).repeat(64),
      rows: 10 + i,
    })),
    rows: 21,
    fingerprint: 'f'.repeat(64),
  }
}

/** Records each batch and answers queries from `answers` (what information_schema would say). */
function recorder(answers: (sql: string) => Record<string, unknown>[] = () => []) {
  const batches: string[][] = []
  const statements: RedshiftStatements = {
    batch: async (list: readonly string[]) => {
      batches.push([...list])
      // What Redshift would count: the INSERT into the target moves the 21 staged rows.
      return list.map((sql) => ({ rowCount: sql.startsWith('INSERT INTO "tara_test"."users"') ? 21 : 0 }))
    },
    query: async (sql) => answers(sql),
  }
  return { batches, statements }
}

function lakeOpener(root: string) {
  return (url: string) => new FsObjectStore(join(root, url.replace(/^s3:\/\//, '')))
}

const asSql = (statements: readonly string[]) => `${statements.join(';\n\n')};\n`

describe('RedshiftTableLoads', () => {
  let server: EmbeddedPostgresServer
  before(async () => {
    server = await startEmbeddedPostgres()
  })
  after(() => server?.stop())

  for (const [mode, key] of [['truncate', []], ['append', []], ['merge', ['user_id']]] as const) {
    it(`issues the ${mode} load as one batch: DDL, COPY from a manifest with the IAM role, the move, the ledger row`, async () => {
      const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
      const { batches, statements } = recorder()
      const loads = new RedshiftTableLoads({ statements, iamRole: ROLE, openStore: lakeOpener(lake) })
      const [result] = await loads.load('tara_test', [usersLoad(mode, [...key])])
      assert.deepEqual(result, { table: 'users', mode, rows: 21, created: true })
      assert.equal(batches.length, 1)
      golden(`${mode}.sql`, asSql(batches[0]!))
      const manifest = readFileSync(join(lake, 'research-lake/twitter/users', MANIFEST_FOLDER, `${'f'.repeat(64)}.json`), 'utf8')
      golden('manifest.json', manifest)
      await runOnPostgres(server, batches[0]!)
    })
  }

  it('reads the load errors Redshift recorded for the load\'s files into the failure', async () => {
    golden('load-errors.sql', `${loadErrorsSql(usersLoad('truncate').files.map((f) => f.url))};\n`)
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const statements: RedshiftStatements = {
      batch: async () => {
        throw new Error('Load into table starline_stage_users failed. Check sys_load_error_detail')
      },
      query: async (sql) =>
        sql.includes('sys_load_error_detail')
          ? [{ file_name: 's3://research-lake/twitter/users/part-00000.snappy.parquet', column_name: 'name', error_code: 15001, error_message: 'String length exceeds DDL length' }]
          : [],
    }
    const loads = new RedshiftTableLoads({ statements, iamRole: ROLE, openStore: lakeOpener(lake) })
    await assert.rejects(loads.load('tara_test', [usersLoad('truncate')]), (error: Error) => {
      assert.match(error.message, /rolled back: Load into table starline_stage_users failed.*part-00000\.snappy\.parquet column "name": String length exceeds DDL length \(code 15001\)/)
      return true
    })
  })

  it('locks the ledger and fails the batch retryably when another load changed the row the load was planned from', async () => {
    const url = await server.createDatabase('redshift_ledger_basis')
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    try {
      await client.query("CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS 'SELECT now()::timestamp'")
      // The batch runs on a real PostgreSQL up to the COPY (which PostgreSQL refuses), then rolls back.
      const batches: string[][] = []
      const statements: RedshiftStatements = {
        batch: async (list) => {
          batches.push([...list])
          await client.query('BEGIN')
          try {
            for (const sql of list.slice(0, list.findIndex((s) => s.startsWith('COPY ')))) await client.query(sql)
          } finally {
            await client.query('ROLLBACK')
          }
          return list.map(() => ({ rowCount: 21 }))
        },
        query: async () => [],
      }
      const loads = new RedshiftTableLoads({ statements, iamRole: ROLE, openStore: lakeOpener(lake) })
      // Planned before any load: no ledger row, and none yet, so the check passes.
      await loads.load('tara_test', [{ ...usersLoad('append'), basis: null }])
      assert.match(batches[0]![2]!, /^LOCK "tara_test"\."_starline_parquet_loads"$/)
      // An overlapping load committed a row meanwhile: the load is refused, retryably, and plans again.
      await client.query(batches[0]![0]!)
      await client.query(batches[0]![1]!)
      await client.query("INSERT INTO tara_test._starline_parquet_loads (table_name, mode, fingerprint, files, rows) VALUES ('users', 'append', 'e', '[]', 1)")
      await assert.rejects(loads.load('tara_test', [{ ...usersLoad('append'), basis: null }]), (error: LoaderLedgerChangedError) => {
        assert.ok(error instanceof LoaderLedgerChangedError)
        assert.equal(error.retryable, true)
        return true
      })
      await loads.load('tara_test', [{ ...usersLoad('append'), basis: 'e' }])
      await assert.rejects(loads.load('tara_test', [{ ...usersLoad('append'), basis: 'd' }]), LoaderLedgerChangedError)
    } finally {
      await client.end()
    }
  })

  it('refuses a load past the connection\'s statements per transaction before running anything', async () => {
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const { batches, statements } = recorder()
    const loads = new RedshiftTableLoads({ statements: { ...statements, maxTransactionStatements: 9 }, iamRole: ROLE, openStore: lakeOpener(lake) })
    await assert.rejects(loads.load('tara_test', [usersLoad('truncate')]), /takes 10 statements, but this Redshift connection runs at most 9 in one transaction/)
    assert.equal(batches.length, 0)
  })

  it('opens from a redshift:// URL over the wire, and a failed COPY rolls the whole batch back', async () => {
    const pgUrl = new URL(await server.createDatabase('redshift_wire_loader'))
    const setup = new pg.Client({ connectionString: pgUrl.href })
    await setup.connect()
    await setup.query("CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS 'SELECT now()::timestamp'")
    await setup.end()
    const undo = useEnv({ PGPASSWORD: decodeURIComponent(pgUrl.password) })
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const url = `redshift://${pgUrl.username}@${pgUrl.host}/redshift_wire_loader?sslmode=disable`
    try {
      assert.throws(() => openTableLoads(url), /STARLINE_REDSHIFT_IAM_ROLE is not set/)
      const loads = openTableLoads(url, { redshiftIamRole: ROLE, openStore: lakeOpener(lake) })
      try {
        assert.deepEqual(await loads.lastLoads('tara_test'), new Map())
        // PostgreSQL refuses Redshift's COPY ... IAM_ROLE: the statements before it must not survive.
        await assert.rejects(loads.load('tara_test', [usersLoad('truncate')]), (error: Error) => {
          assert.match(error.message, /Loading Parquet into Redshift failed and was rolled back: .*IAM_ROLE/)
          return true
        })
        const client = new pg.Client({ connectionString: pgUrl.href })
        await client.connect()
        try {
          const schemas = await client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'tara_test'")
          assert.equal(schemas.rowCount, 0)
        } finally {
          await client.end()
        }
      } finally {
        await loads.close()
      }
    } finally {
      undo()
    }
  })

  it('refuses an existing table that lacks a spec column before running anything', async () => {
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const { batches, statements } = recorder((sql) => (sql.includes('information_schema') ? [{ table_name: 'users', column_name: 'user_id' }] : []))
    const loads = new RedshiftTableLoads({ statements, iamRole: ROLE, openStore: lakeOpener(lake) })
    await assert.rejects(loads.load('tara_test', [usersLoad('truncate')]), /"tara_test"."users" exists without column\(s\) "name", "bio"/)
    assert.equal(batches.length, 0)
  })
  it('reads only the errors of this load\'s files, not of an earlier load or a sibling prefix', async () => {
    const url = await server.createDatabase(`redshift_errors_${Math.random().toString(36).slice(2, 8)}`)
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      // sys_load_error_detail's shape, as Redshift pads its char columns.
      await client.query('CREATE TABLE sys_load_error_detail (file_name char(256), column_name char(127), error_code int, error_message char(512), start_time timestamp)')
      const row = 'INSERT INTO sys_load_error_detail VALUES ($1, $2, 15001, $3, $4)'
      await client.query(row, ['s3://research-lake/twitter/users/part-00000.snappy.parquet', 'name', 'this load', '2026-12-03 10:00:00'])
      await client.query(row, ['s3://research-lake/twitter/users/part-old.snappy.parquet', 'bio', 'an earlier load', '2026-12-03 10:01:00'])
      await client.query(row, ['s3://research-lake/twitter/users/batch=2/part-00001.snappy.parquet.bak', 'bio', 'not a file of this load', '2026-12-03 10:02:00'])
      await client.query("SET standard_conforming_strings = off") // as Redshift reads literals
      const found = await client.query(loadErrorsSql(usersLoad('truncate').files.map((f) => f.url)))
      assert.deepEqual(found.rows.map((r) => r.error_message), ['this load'])
    } finally {
      await client.end()
    }
  })

  it('writes backslashes in literals so that Redshift reads them back unchanged', async () => {
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const { batches, statements } = recorder()
    const loads = new RedshiftTableLoads({ statements, iamRole: ROLE, openStore: lakeOpener(lake) })
    const base = usersLoad('truncate')
    const key = 'batch=a\\b\\n/part-00000.snappy.parquet'
    const load: TableLoad = { ...base, files: [{ ...base.files[0]!, key, url: `${base.prefix}${key}` }] }
    await loads.load('tara_test', [load])
    const ledger = await runOnPostgres(server, batches[0]!, { redshiftStrings: true })
    assert.deepEqual(
      (JSON.parse(ledger.files) as { url: string }[]).map((f) => f.url),
      [`${base.prefix}${key}`],
    )
  })
})

describe('loadParquet on Redshift', () => {
  const loadOn = (lake: string, spec: object) => {
    const { batches, statements } = recorder()
    const tableLoads = new RedshiftTableLoads({ statements, iamRole: ROLE, openStore: lakeOpener(lake) })
    const run = loadParquet({ spec: parseLoaderSpec(JSON.stringify(spec), { baseDir: lake }), tableLoads, openStore: lakeOpener(lake), scratchDir: lake })
    return { run, batches }
  }

  it('refuses names with upper-case letters, which Redshift folds, before reading a file or running a statement', async () => {
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const { run, batches } = loadOn(lake, { schema: 'research', tables: [{ name: 'Users', prefix: 's3://research-lake/users/', columns: [{ name: 'userId', type: 'bigint' }] }] })
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof LoaderSpecError, String(error))
      assert.match(error.message, /folds names to lower case.*table "Users", column "Users"\."userId" have upper-case letters: write them in lower case/)
      return true
    })
    assert.deepEqual(batches, [])
  })

  it('refuses a prefix Redshift cannot COPY from before reading a file', async () => {
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const { run, batches } = loadOn(lake, { schema: 'research', tables: [{ name: 'users', prefix: 'data/users/', columns: [{ name: 'user_id', type: 'bigint' }] }] })
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof LoaderSpecError, String(error))
      assert.match(error.message, /only from s3:\/\/ prefixes, and table "users" has prefix "file:.*data\/users\/": put the files in S3/)
      return true
    })
    assert.deepEqual(batches, [])
  })

  it("refuses a text value past Redshift's 65535 bytes, counted in bytes, before anything loads", async () => {
    const lake = mkdtempSync(join(tmpdir(), 'starline-rs-'))
    const dir = join(lake, 'research-lake', 'notes')
    mkdirSync(dir, { recursive: true })
    const db = await openDuckDb({ scratchDir: lake })
    try {
      // 35,001 characters, 70,002 bytes: within 65535 characters, past 65535 bytes.
      await db.run(`COPY (SELECT 1::BIGINT AS id, repeat('é', 35001) AS note UNION ALL SELECT 2, 'short') TO ${quoteLiteral(join(dir, 'part-0.parquet'))} (FORMAT parquet)`)
    } finally {
      db.close()
    }
    const { run, batches } = loadOn(lake, { schema: 'research', tables: [{ name: 'notes', prefix: 's3://research-lake/notes/', columns: [{ name: 'id', type: 'bigint' }, { name: 'note', type: 'text' }] }] })
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof LoaderDataError, String(error))
      assert.match(error.message, /1 value\(s\) in column "note" that do not fit text \(at most 65535 bytes on this warehouse\)/)
      return true
    })
    assert.deepEqual(batches, [])
  })
})

/**
 * Runs the batch on PostgreSQL in one transaction, skipping only COPY (no
 * S3 there). `GETDATE()` is Redshift's; a one-line function stands in for it.
 */
async function runOnPostgres(server: EmbeddedPostgresServer, batch: readonly string[], options: { readonly redshiftStrings?: boolean } = {}): Promise<{ files: string }> {
  const url = await server.createDatabase(`redshift_sql_${Math.random().toString(36).slice(2, 8)}`)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query("CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS 'SELECT now()::timestamp'")
    // Redshift reads a backslash in a literal as an escape, as PostgreSQL does with this off.
    if (options.redshiftStrings) await client.query('SET standard_conforming_strings = off')
    await client.query('BEGIN')
    for (const sql of batch) if (!sql.startsWith('COPY ')) await client.query(sql)
    await client.query('COMMIT')
    const ledger = await client.query('SELECT table_name, mode, rows::int AS rows, files FROM tara_test._starline_parquet_loads')
    assert.equal(ledger.rows.length, 1)
    assert.equal(ledger.rows[0].rows, 21)
    return { files: ledger.rows[0].files }
  } finally {
    await client.end()
  }
}
