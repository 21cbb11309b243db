/**
 * The Parquet loader's Redshift SQL: pinned by golden files (UPDATE_GOLDEN=1
 * rewrites them), and every statement PostgreSQL also accepts is run on a
 * real PostgreSQL, in one transaction, as Redshift would run the batch.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { parseColumnType } from '../../../src/loader/loader-spec.js'
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

  it('reads the load errors Redshift recorded for the prefix into the failure', async () => {
    golden('load-errors.sql', `${loadErrorsSql('s3://research-lake/twitter/users_v2/')};\n`)
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
})

/**
 * Runs the batch on PostgreSQL in one transaction, skipping only COPY (no
 * S3 there). `GETDATE()` is Redshift's; a one-line function stands in for it.
 */
async function runOnPostgres(server: EmbeddedPostgresServer, batch: readonly string[]): Promise<void> {
  const url = await server.createDatabase(`redshift_sql_${Math.random().toString(36).slice(2, 8)}`)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query("CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS 'SELECT now()::timestamp'")
    await client.query('BEGIN')
    for (const sql of batch) if (!sql.startsWith('COPY ')) await client.query(sql)
    await client.query('COMMIT')
    const ledger = await client.query('SELECT table_name, mode, rows::int AS rows FROM tara_test._starline_parquet_loads')
    assert.equal(ledger.rows.length, 1)
    assert.equal(ledger.rows[0].rows, 21)
  } finally {
    await client.end()
  }
}
