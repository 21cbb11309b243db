/**
 * A bulk fact load drops the fact's foreign keys, proves the new rows'
 * references in one pass and puts the keys back NOT VALID: the keys must
 * still be there, still refuse a fact whose dimension row is missing, and
 * validating them must find nothing to refuse.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { PostgresWarehouse } from '../../../src/warehouse/postgres/postgres-warehouse.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

interface ForeignKey {
  readonly table: string
  readonly name: string
  readonly column: string
}

describe('foreign keys after a bulk fact load on PostgreSQL', () => {
  it('are all back, refuse an unresolved fact and validate cleanly', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.3 })
    await pipeline.cycle()
    // The first load is a bulk append into empty fact tables (the direct path).
    const facts: { table: string; rows: number }[] = []
    for (const table of ['fact_sales_order', 'fact_purchase_order', 'fact_payment']) {
      const [row] = await pipeline.warehouse<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)
      facts.push({ table, rows: Number(row!.n) })
    }
    assert.ok(facts.length >= 3 && facts.every((f) => f.rows >= 1_000), `every fact table is a bulk load: ${JSON.stringify(facts)}`)
    const keys = await pipeline.warehouse<ForeignKey>(
      `SELECT conrelid::regclass::text AS table, conname AS name, a.attname AS column
         FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE contype = 'f' AND conrelid::regclass::text LIKE 'fact\\_%' ORDER BY 1, 2`,
    )
    assert.ok(keys.length >= 20, `the fact tables' foreign keys are back: ${keys.length}`)
    for (const fact of facts) assert.ok(keys.some((k) => k.table === fact.table), `"${fact.table}" has its foreign keys`)

    // Enforced for new rows: a copy of a loaded fact pointing at a missing dimension row is refused.
    const key = keys.find((k) => k.table === 'fact_payment' && k.column === 'transaction_id')!
    await assert.rejects(
      pipeline.warehouse(`UPDATE fact_payment SET transaction_id = -1 WHERE payment_record_id = (SELECT min(payment_record_id) FROM fact_payment)`),
      (error: { code?: string; constraint?: string }) => error.code === '23503' && error.constraint === key.name,
    )
    // Every loaded row resolves: validating each key (the full check PostgreSQL would have made) passes.
    for (const k of keys) await pipeline.warehouse(`ALTER TABLE ${k.table} VALIDATE CONSTRAINT "${k.name}"`)
    const invalid = await pipeline.warehouse("SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
    assert.deepEqual(invalid, [])
  })
})

interface Constraint {
  readonly table: string
  readonly name: string
  readonly definition: string
}

describe('keys after a bulk first load of a dimension on PostgreSQL', () => {
  it('are the keys the tables were created with, and the dimension key refuses a duplicate', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.3 })
    const specs = pipeline.ctx.dataset.models.map((m) => m.table)
    const warehouse = new PostgresWarehouse({ url: pipeline.warehouseUrl })
    try {
      await warehouse.ensureTables('public', specs)
    } finally {
      await warehouse.close()
    }
    // Foreign keys come back NOT VALID from the fact path; everything else must match exactly.
    const constraints = async () =>
      (
        await pipeline.warehouse<Constraint>(
          `SELECT conrelid::regclass::text AS table, conname AS name, pg_get_constraintdef(oid) AS definition
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
        )
      ).map((c) => ({ ...c, definition: c.definition.replace(/ NOT VALID$/, '') }))
    const created = await constraints()
    await pipeline.cycle()
    const [dimension] = await pipeline.warehouse<{ n: string }>('SELECT count(*)::text AS n FROM dim_transaction')
    assert.ok(Number(dimension!.n) >= 1_000, `dim_transaction is a bulk first load: ${dimension!.n} rows`)
    assert.ok(created.some((c) => c.definition.includes('REFERENCES public.dim_transaction') || c.definition.includes('REFERENCES dim_transaction')))
    assert.deepEqual(await constraints(), created)
    await assert.rejects(
      pipeline.warehouse('INSERT INTO dim_transaction SELECT * FROM dim_transaction ORDER BY transaction_id LIMIT 1'),
      (error: { code?: string }) => error.code === '23505',
    )
  })
})
