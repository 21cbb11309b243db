/**
 * The drift check on Redshift: its SQL pinned by a golden file
 * (test/golden/redshift/drift.sql), and run on PostgreSQL standing in for
 * Redshift after a real ToteSys load: a clean warehouse has no drift, and
 * deleted fact rows, a dropped held table, a dropped key and an emptied
 * ledger are each found and refuse the load, changing nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import type { StageContext } from '../../../src/pipeline/context.js'
import { load } from '../../../src/pipeline/load.js'
import type { TableSpec } from '../../../src/schema/table-spec.js'
import { qualify } from '../../../src/sql/quote.js'
import { ledgerTotalsSql, WarehouseDriftError } from '../../../src/warehouse/drift.js'
import { countsSql, keysSql, ledgerColumnSql, relationsSql, runsSql } from '../../../src/warehouse/redshift/redshift-drift.js'
import { RedshiftWarehouse } from '../../../src/warehouse/redshift/redshift-warehouse.js'
import { LEDGER_TABLES_TABLE } from '../../../src/warehouse/warehouse.js'
import { assertGolden } from '../../support/golden.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'
import { copyFromLake, RedshiftStandIn, underRoot } from '../../support/redshift-stand-in.js'

const SCHEMA = 'star'
const TABLES: readonly TableSpec[] = TOTESYS.models.map((m) => m.table).sort((a, b) => a.name.localeCompare(b.name))

describe('Redshift drift SQL', () => {
  it('generates the catalog, ledger and count statements of the drift check', () => {
    const relations = TABLES.filter((t) => t.name === 'dim_staff' || t.name === 'fact_payment').map((t) => ({ name: t.name, recordId: t.recordId }))
    const statements = [
      relationsSql(SCHEMA),
      ledgerColumnSql(SCHEMA),
      keysSql(SCHEMA),
      runsSql(SCHEMA),
      { sql: ledgerTotalsSql(qualify(SCHEMA, LEDGER_TABLES_TABLE), false) },
      countsSql(SCHEMA, [...relations, { name: '_starline_held_fact_payment' }]),
    ]
    assertGolden('redshift/drift.sql', statements.map((s) => `${s.sql};${'params' in s && s.params ? `\n-- params: ${JSON.stringify(s.params)}` : ''}`).join('\n\n'))
  })
})

describe('the drift check on Redshift (PostgreSQL standing in)', () => {
  const fixture = new PipelineFixture()
  let reference: Pipeline
  let pool: pg.Pool
  let redshift: RedshiftWarehouse
  let ctx: StageContext
  const specs = () => reference.ctx.dataset.models.map((m) => m.table)
  const snapshot = async () => {
    const tables = ['fact_payment', 'fact_sales_order', '_starline_loads', '_starline_load_tables', '_starline_held_fact_sales_order']
    const out: Record<string, unknown> = {}
    for (const t of tables) {
      const present = (await pool.query('SELECT to_regclass($1) AS t', [qualify('public', t)])).rows[0]?.t
      out[t] = present ? (await pool.query(`SELECT x::text AS r FROM ${qualify('public', t)} x ORDER BY 1`)).rows : 'missing'
    }
    return out
  }
  const assertRefused = async (message: RegExp) => {
    const before = await snapshot()
    await assert.rejects(load(ctx, { warehouse: redshift, schema: 'public' }), (error: Error) => {
      assert.ok(error instanceof WarehouseDriftError, error.message)
      assert.match(error.message, message)
      return true
    })
    assert.deepEqual(await snapshot(), before)
  }

  before(async () => {
    await fixture.start()
    reference = await fixture.pipeline()
    pool = new pg.Pool({ connectionString: await fixture.server.createDatabase('redshift_drift'), max: 2 })
    pool.on('error', () => {})
    const processed = underRoot(reference.ctx.processed, 's3://lake-bucket/processed')
    const session = new RedshiftStandIn(pool, copyFromLake(pool, processed))
    redshift = new RedshiftWarehouse({ iamRole: 'arn:aws:iam::123456789012:role/starline-copy', connection: { session } })
    ctx = { ...reference.ctx, processed }
    await reference.cycle()
    await load(ctx, { warehouse: redshift, schema: 'public' })
  })
  after(async () => {
    await redshift.close()
    await pool.end()
    await fixture.stop()
  })

  it('finds no drift in a warehouse it loaded', async () => {
    assert.deepEqual(await redshift.checkAgainstLedger('public', specs()), [])
  })

  it('sees the keys, and no drift, as a role that may read and write the tables but does not own them', async () => {
    // information_schema's key views list only tables an enabled role owns: a loader role saw no keys there.
    await pool.query("CREATE ROLE starline_loader LOGIN PASSWORD 'loader-pw'")
    await pool.query('GRANT USAGE ON SCHEMA public TO starline_loader')
    await pool.query('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO starline_loader')
    const url = new URL(fixture.server.url('redshift_drift'))
    url.username = 'starline_loader'
    url.password = 'loader-pw'
    const loaderPool = new pg.Pool({ connectionString: url.href, max: 1 })
    loaderPool.on('error', () => {})
    const asLoader = new RedshiftWarehouse({ iamRole: 'arn:aws:iam::123456789012:role/starline-copy', connection: { session: new RedshiftStandIn(loaderPool, copyFromLake(loaderPool, ctx.processed)) } })
    try {
      const [owner] = (await loaderPool.query<{ mine: boolean }>("SELECT pg_has_role(tableowner, 'USAGE') AS mine FROM pg_tables WHERE tablename = 'fact_sales_order'")).rows
      assert.equal(owner?.mine, false, 'the loader role does not own the tables')
      assert.deepEqual(await asLoader.checkAgainstLedger('public', specs()), [])
    } finally {
      await asLoader.close()
    }
  })

  it('finds deleted fact rows', async () => {
    await pool.query('BEGIN')
    await pool.query('DELETE FROM fact_payment WHERE payment_record_id = 1')
    try {
      const findings = await redshift.checkAgainstLedger('public', specs())
      assert.equal(findings.length, 1)
      assert.match(`${findings[0]!.table} ${findings[0]!.problem}`, /^fact_payment holds \d+ rows; the ledger vouches for \d+$/)
    } finally {
      await pool.query('ROLLBACK')
    }
  })

  it('refuses a load after fact rows are deleted, the held table or a key is dropped, or the ledger is emptied', async () => {
    await pool.query('DELETE FROM fact_payment WHERE payment_record_id = 2')
    await assertRefused(/"fact_payment" holds \d+ rows; the ledger vouches for \d+/)
    await pool.query('DROP TABLE _starline_held_fact_sales_order')
    await assertRefused(/"_starline_held_fact_sales_order" is missing; the ledger vouches for 0 held rows in it/)
    const [key] = (await pool.query<{ name: string }>("SELECT conname AS name FROM pg_constraint WHERE conrelid = 'fact_sales_order'::regclass AND contype = 'f' ORDER BY 1 LIMIT 1")).rows
    await pool.query(`ALTER TABLE fact_sales_order DROP CONSTRAINT "${key!.name}"`)
    await assertRefused(/"fact_sales_order" has lost its foreign key \(\w+\) references "dim_\w+"/)
    await pool.query('DELETE FROM _starline_load_tables; DELETE FROM _starline_loads')
    await assertRefused(/"_starline_loads" lists no runs, but tables hold rows it does not vouch for/)
  })
})
