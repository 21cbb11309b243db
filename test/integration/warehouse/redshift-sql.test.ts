/**
 * Redshift SQL on a real PostgreSQL: every statement PostgreSQL also accepts
 * runs on the embedded server, over the wire connector, so its syntax and
 * its semantics are checked where no Redshift runs (the golden files pin the
 * text: test/unit/warehouse/redshift-golden.test.ts). Redshift-only: the
 * DISTKEY/SORTKEY/DISTSTYLE/BACKUP clauses (cut off by the stand-in) and
 * COPY ... FROM 's3://' (replaced here by an INSERT of the same rows into
 * the stage).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import type { TableSpec } from '../../../src/schema/table-spec.js'
import { qualify } from '../../../src/sql/quote.js'
import { addHeldSinceColumnSql } from '../../../src/warehouse/redshift/redshift-held-rows.js'
import { createStageSql, loadErrorsSql, stageTable } from '../../../src/warehouse/redshift/redshift-staging.js'
import { loadScript, RedshiftWarehouse } from '../../../src/warehouse/redshift/redshift-warehouse.js'
import type { LoadPlan } from '../../../src/warehouse/warehouse.js'
import { RedshiftStandIn, type CopyStandInFn } from '../../support/redshift-stand-in.js'

const ROLE = 'arn:aws:iam::123456789012:role/starline-copy'

const DIM: TableSpec = {
  name: 'dim "shop"',
  kind: 'dimension',
  primaryKey: ['shop_id'],
  columns: [
    { name: 'shop_id', type: 'integer', nullable: false },
    { name: 'name', type: 'varchar', nullable: true },
  ],
}
const FACT: TableSpec = {
  name: "fact_sale's",
  kind: 'fact',
  recordId: 'sale_record_id',
  appendOrder: ['updated', 'sale_id'],
  naturalKey: ['sale_id'],
  columns: [
    { name: 'sale_id', type: 'bigint', nullable: false },
    { name: 'updated', type: 'timestamp', nullable: false },
    { name: 'shop_id', type: 'integer', nullable: true, references: { table: DIM.name, column: 'shop_id' } },
    { name: 'amount', type: 'decimal(10,2)', nullable: false },
  ],
}
const PG_SCHEMA = 'red "shift"'

type Rows = Record<string, readonly (readonly unknown[])[]>

/** COPY from inline rows: the "files" a test put in S3, by stage. */
function copyInline(session: () => RedshiftStandIn, files: () => Rows): CopyStandInFn {
  return async (stage) => {
    const rows = files()[stage] ?? []
    for (const row of rows) {
      const params = Object.fromEntries(row.map((v, i) => [`v${i}`, String(v)]))
      const values = row.map((v, i) => (v === null ? 'NULL' : `:v${i}`)).join(', ')
      await session().query({ sql: `INSERT INTO ${stage} VALUES (${values})`, params })
    }
    return rows.length
  }
}

describe('RedshiftWarehouse SQL on a real PostgreSQL', () => {
  let server: EmbeddedPostgresServer
  let pool: pg.Pool
  let session: RedshiftStandIn
  let files: Rows = {}
  let warehouse: RedshiftWarehouse
  let lake: string
  let store: FsObjectStore

  before(async () => {
    server = await startEmbeddedPostgres()
    pool = new pg.Pool({ connectionString: await server.createDatabase('redshift_sql'), max: 2 })
    // An idle client is terminated when the server stops: not a test failure.
    pool.on('error', () => {})
    session = new RedshiftStandIn(pool, copyInline(() => session, () => files))
    lake = mkdtempSync(join(tmpdir(), 'starline-redshift-'))
    store = new FsObjectStore(lake)
    warehouse = new RedshiftWarehouse({ iamRole: ROLE, connection: { session }, now: () => new Date('2024-11-19T09:31:02.123Z') })
  })
  after(async () => {
    await warehouse.close()
    await pool.end()
    await server.stop()
    rmSync(lake, { recursive: true, force: true })
  })

  const rows = async (sql: string) => (await pool.query({ text: sql, rowMode: 'array' })).rows.map((r: unknown[]) => r.map((v) => (v === null ? 'null' : String(v))).join('|'))
  const dimRows = () => rows(`SELECT shop_id, name FROM ${qualify(PG_SCHEMA, DIM.name)} ORDER BY shop_id`)
  const factRows = () => rows(`SELECT sale_record_id, sale_id, to_char(updated, 'YYYY-MM-DD HH24:MI:SS.MS'), shop_id, amount FROM ${qualify(PG_SCHEMA, FACT.name)} ORDER BY sale_record_id`)
  const heldRows = () => rows(`SELECT sale_id, shop_id, held_since_run FROM ${qualify(PG_SCHEMA, `_starline_held_${FACT.name}`)} ORDER BY sale_id`)

  /** A plan for `input`'s rows; the lake gets a 1000-byte object per file (COPY is stood in for, but its object is checked). */
  async function plan(runId: string, input: { dim?: Rows[string]; fact?: Rows[string] }): Promise<LoadPlan> {
    files = {}
    const tables = []
    const columns = (spec: TableSpec) =>
      spec.columns.map((c) => ({ name: c.name, type: c.type === 'decimal(10,2)' ? 'DECIMAL(10,2)' : c.type === 'varchar' ? 'VARCHAR' : c.type.toUpperCase(), nullable: c.nullable }))
    for (const [spec, data] of [[DIM, input.dim], [FACT, input.fact]] as const) {
      if (!data) continue
      files[stageTable(PG_SCHEMA, runId, spec)] = data
      const key = `${spec.name}/${runId}.parquet`
      if (!(await store.head(key))) await store.put(key, Buffer.alloc(1000))
      tables.push({ spec, rows: data.length, key, objectUrl: `s3://lake-bucket/processed/${key}`, columns: columns(spec), bytes: 1000 })
    }
    return { schema: PG_SCHEMA, dataset: 'shops', runId, manifestSha256: runId.toLowerCase(), tables, facts: [FACT], store }
  }

  it('ensureTables creates the schema, tables, held table, view and ledger, and twice is harmless', async () => {
    session.statements.length = 0
    await warehouse.ensureTables(PG_SCHEMA, [FACT, DIM])
    assert.ok(session.statements.some((s) => s.endsWith('DISTSTYLE ALL SORTKEY ("shop_id")')), 'the Redshift DDL was generated with its attributes')
    await warehouse.ensureTables(PG_SCHEMA, [FACT, DIM])
    const tables = await rows(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${PG_SCHEMA.replaceAll("'", "''")}' ORDER BY table_name`)
    assert.deepEqual(tables, ['_starline_held_fact_sale\'s', '_starline_load_tables', '_starline_loads', 'dim "shop"', "fact_sale's", "fact_sale's_current"])
  })

  it('ensureTables names every column an existing table lacks', async () => {
    await pool.query(`ALTER TABLE ${qualify(PG_SCHEMA, DIM.name)} RENAME COLUMN name TO title`)
    await assert.rejects(warehouse.ensureTables(PG_SCHEMA, [DIM, FACT]), /table "dim "shop"" has no column "name"/)
    await pool.query(`ALTER TABLE ${qualify(PG_SCHEMA, DIM.name)} RENAME COLUMN title TO name`)
  })

  it('loads a first run: dimensions inserted, facts numbered in append order, a fact with a missing shop held', async () => {
    const result = await warehouse.loadRun(
      await plan('20241119T090000Z', {
        dim: [[1, 'Leeds'], [2, null]],
        fact: [
          [100, '2024-11-19 08:00:00.250', 1, '10.10'],
          [101, '2024-11-19 07:00:00.000', 2, '20.20'],
          [102, '2024-11-19 07:30:00.000', 3, '30.30'],
          [103, '2024-11-19 07:45:00.000', null, '40.40'],
        ],
      }),
    )
    assert.equal(result.status, 'loaded')
    assert.deepEqual(result.tables, [
      { table: DIM.name, rows: 2, inserted: 2, updated: 0, held: 0 },
      { table: FACT.name, rows: 4, inserted: 3, updated: 0, held: 1 },
    ])
    assert.deepEqual(await dimRows(), ['1|Leeds', '2|null'])
    assert.deepEqual(await factRows(), ['1|101|2024-11-19 07:00:00.000|2|20.20', '2|103|2024-11-19 07:45:00.000|null|40.40', '3|100|2024-11-19 08:00:00.250|1|10.10'])
    assert.deepEqual(await heldRows(), ['102|3|20241119T090000Z'])
    const stages = await rows(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${PG_SCHEMA.replaceAll("'", "''")}' AND table_name LIKE '\\_starline\\_stage%'`)
    assert.deepEqual(stages, [], 'stages are dropped after the load')
    const copyManifest = JSON.parse((await store.getBytes(`_copy/20241119T090000Z/${FACT.name}.manifest`)).toString('utf8'))
    assert.deepEqual(copyManifest.entries, [{ url: `s3://lake-bucket/processed/${FACT.name}/20241119T090000Z.parquet`, mandatory: true, meta: { content_length: 1000 } }])
  })

  it('skips a run already in the ledger', async () => {
    const before = await factRows()
    const result = await warehouse.loadRun(await plan('20241119T090000Z', { fact: [[999, '2024-11-19 09:00:00', 1, '1.00']] }))
    assert.equal(result.status, 'already-loaded')
    assert.deepEqual(await factRows(), before)
  })

  it('updates changed dimension rows, leaves equal ones, and releases held facts once their shop arrives', async () => {
    const result = await warehouse.loadRun(await plan('20241119T100000Z', { dim: [[1, 'Leeds'], [2, 'York'], [3, 'Hull']] }))
    assert.deepEqual(result.tables, [
      { table: DIM.name, rows: 3, inserted: 1, updated: 1, held: 0 },
      { table: FACT.name, rows: 0, inserted: 1, updated: 0, held: 0 },
    ])
    assert.deepEqual(await dimRows(), ['1|Leeds', '2|York', '3|Hull'])
    assert.deepEqual((await factRows()).at(-1), '4|102|2024-11-19 07:30:00.000|3|30.30')
    assert.deepEqual(await heldRows(), [])
    const ledger = await warehouse.loadedRuns(PG_SCHEMA)
    assert.deepEqual(
      ledger.map((r) => [r.runId, r.rows, r.status, r.loadedAt.toISOString()]),
      [
        ['20241119T090000Z', 6, 'loaded', '2024-11-19T09:31:02.123Z'],
        ['20241119T100000Z', 3, 'loaded', '2024-11-19T09:31:02.123Z'],
      ],
    )
    // The ranges the load, the cycle and the loader Lambda read: their cost does not grow with the ledger.
    assert.deepEqual(await warehouse.loadedRuns(PG_SCHEMA, { from: '20241119T100000Z' }), ledger.slice(1))
    assert.deepEqual(await warehouse.loadedRuns(PG_SCHEMA, { from: '20241119T093000Z' }), ledger.slice(1))
    assert.deepEqual(await warehouse.loadedRuns(PG_SCHEMA, { newest: true }), ledger.slice(1))
    assert.deepEqual(await warehouse.newestLoadedRun(PG_SCHEMA), ledger[1])
  })

  it('rolls the whole run back when a statement fails, and the guard rejects a run in the ledger twice', async () => {
    const before = { dim: await dimRows(), fact: await factRows() }
    // A second ledger row for a loaded run: PostgreSQL's primary key or the guard (Redshift) must stop it.
    const script = loadScript({ ...(await plan('20241119T090000Z', {})), loadedAt: new Date('2024-11-19T12:00:00Z'), tables: [] })
    for (const sql of createStageSql(PG_SCHEMA, '20241119T090000Z', FACT, { attributes: false })) await pool.query(sql)
    await pool.query(addHeldSinceColumnSql(PG_SCHEMA, '20241119T090000Z', FACT))
    await assert.rejects(session.transaction(script), /duplicate key|division by zero/)
    await pool.query(`ALTER TABLE ${qualify(PG_SCHEMA, '_starline_loads')} DROP CONSTRAINT "_starline_loads_pkey" CASCADE`)
    await assert.rejects(session.transaction(script), /division by zero/, 'without an enforced key, the guard fails the transaction')
    assert.deepEqual({ dim: await dimRows(), fact: await factRows() }, before)
    assert.equal((await warehouse.loadedRuns(PG_SCHEMA)).length, 2)
  })

  it('refuses a file whose columns are in another order before any COPY', async () => {
    const p = await plan('20241119T110000Z', { dim: [[4, 'Bath']] })
    const swapped = { ...p, tables: [{ ...p.tables[0]!, columns: [...p.tables[0]!.columns!].reverse() }] }
    session.statements.length = 0
    await assert.rejects(warehouse.loadRun(swapped), /has "name" as column 1 where the table has "shop_id".*maps columns by position/)
    assert.ok(!session.statements.some((s) => s.startsWith('COPY') || s.startsWith('CREATE TABLE')), 'nothing was staged')
  })

  it('reads the load errors Redshift records for the run files (sys_load_error_detail stood in by a table)', async () => {
    await pool.query(`CREATE TABLE sys_load_error_detail (query_id bigint, file_name char(300), line_number bigint, column_name char(127), column_type char(10),
      error_code integer, error_message char(512), start_time timestamp)`)
    await pool.query(`INSERT INTO sys_load_error_detail VALUES (7, 's3://b/dim/run.parquet', 3, 'shop_id', 'int4', 1207, 'Invalid digit', '2024-11-19 09:00'),
      (8, 's3://b/other.parquet', 1, 'x', 'int4', 1207, 'other file', '2024-11-19 09:00')`)
    const { rows: found } = await session.query(loadErrorsSql(['s3://b/dim/run.parquet']))
    assert.deepEqual(found, [{ file_name: 's3://b/dim/run.parquet', line_number: '3', column_name: 'shop_id', column_type: 'int4', error_code: '1207', error_message: 'Invalid digit' }])
  })

  it('reports the rejected rows Redshift recorded when COPY fails, and merges nothing', async () => {
    const before = await dimRows()
    const copy = session.copy
    session.copy = async () => {
      throw new Error("Load into table '_starline_stage_x' failed. Check 'sys_load_error_detail' system table for details.")
    }
    try {
      const p = await plan('20241119T120000Z', { dim: [[5, 'Ely']] })
      await pool.query(`INSERT INTO sys_load_error_detail VALUES (9, $1, 1, 'shop_id', 'int4', 1207, 'Invalid digit, Value ''x''', '2024-11-19 12:00')`, [p.tables[0]!.objectUrl])
      await assert.rejects(
        warehouse.loadRun(p),
        (error: Error) =>
          error.name === 'RedshiftCopyError' &&
          error.message.includes(`${p.tables[0]!.objectUrl} line 1, column "shop_id" (int4): Invalid digit, Value '…' [error 1207]`) &&
          error.message.includes('Nothing was merged'),
      )
    } finally {
      session.copy = copy
    }
    assert.deepEqual(await dimRows(), before)
    assert.ok(!(await warehouse.loadedRuns(PG_SCHEMA)).some((r) => r.runId === '20241119T120000Z'))
  })

  it('refuses a COPY that brought fewer rows than the manifest says', async () => {
    const p = await plan('20241119T130000Z', { dim: [[6, 'Wells']] })
    await assert.rejects(warehouse.loadRun({ ...p, tables: [{ ...p.tables[0]!, rows: 2 }] }), /"dim "shop"" copied 1 rows but its manifest says 2/)
  })

  it('splits ensureTables across batches under a statement limit, and refuses a merge too long for one before any COPY', async () => {
    session.maxTransactionStatements = 3
    try {
      await warehouse.ensureTables(PG_SCHEMA, [DIM, FACT])
      session.statements.length = 0
      await assert.rejects(
        warehouse.loadRun(await plan('20241119T140000Z', { dim: [[7, 'Ripon']], fact: [[104, '2024-11-19 13:00:00', 7, '1.00']] })),
        /its merge takes \d+ statements in one transaction, more than the 3 .* Connect over the wire instead/,
      )
      assert.ok(!session.statements.some((s) => s.startsWith('COPY')), 'nothing was copied')
    } finally {
      delete session.maxTransactionStatements
    }
  })

  it('connects from a redshift:// URL with the password from PGPASSWORD, and names the URL without it when it cannot', async () => {
    const pgUrl = new URL(server.url('redshift_sql'))
    const password = decodeURIComponent(pgUrl.password)
    const previous = process.env.PGPASSWORD
    process.env.PGPASSWORD = password
    try {
      const url = `redshift://${pgUrl.username}@${pgUrl.host}/redshift_sql?sslmode=disable`
      const byUrl = new RedshiftWarehouse({ iamRole: ROLE, connection: { url, setting: 'STARLINE_WAREHOUSE_URL' } })
      assert.deepEqual((await byUrl.loadedRuns(PG_SCHEMA)).map((r) => r.runId), ['20241119T090000Z', '20241119T100000Z'])
      await byUrl.close()
      const closed = `redshift://${pgUrl.username}@127.0.0.1:1/redshift_sql?sslmode=disable`
      const unreachable = new RedshiftWarehouse({ iamRole: ROLE, connection: { url: closed, setting: 'STARLINE_WAREHOUSE_URL' } })
      await assert.rejects(
        unreachable.loadedRuns(PG_SCHEMA),
        (error: Error & { retryable?: boolean }) =>
          error.name === 'WarehouseUnreachableError' &&
          error.retryable === true &&
          error.message.includes('redshift://postgres@127.0.0.1:1/redshift_sql') &&
          error.message.includes('Check STARLINE_WAREHOUSE_URL') &&
          !error.message.includes(password),
      )
      await unreachable.close()
    } finally {
      if (previous === undefined) delete process.env.PGPASSWORD
      else process.env.PGPASSWORD = previous
    }
  })

  it('refuses an object whose size differs from its manifest before any COPY', async () => {
    const p = await plan('20241119T150000Z', { dim: [[8, 'Selby']] })
    session.statements.length = 0
    await assert.rejects(
      warehouse.loadRun({ ...p, tables: [{ ...p.tables[0]!, bytes: 999 }] }),
      /"dim "shop"\/20241119T150000Z.parquet" .* holds 1000 bytes where its manifest says 999; it was changed after it was published/,
    )
    assert.ok(!session.statements.some((s) => s.startsWith('COPY') || s.startsWith('CREATE TABLE')), 'nothing was staged')
  })
})
