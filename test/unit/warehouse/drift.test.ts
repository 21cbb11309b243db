/**
 * compareWithLedger: what the warehouse holds against what its ledger
 * vouches for, finding by finding, without a database.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TableSpec } from '../../../src/schema/table-spec.js'
import { compareWithLedger, keyLabels, WarehouseDriftError, type LedgerTotals, type ObservedTable, type WarehouseObservation } from '../../../src/warehouse/drift.js'

const DIM: TableSpec = { name: 'dim_shop', kind: 'dimension', primaryKey: ['shop_id'], columns: [{ name: 'shop_id', type: 'integer', nullable: false }] }
const FACT: TableSpec = {
  name: 'fact_sale',
  kind: 'fact',
  recordId: 'sale_record_id',
  naturalKey: ['sale_id'],
  versionKey: ['sale_id', 'last_updated'],
  columns: [
    { name: 'sale_id', type: 'integer', nullable: false },
    { name: 'shop_id', type: 'integer', nullable: false, references: { table: 'dim_shop', column: 'shop_id' } },
    { name: 'last_updated', type: 'timestamp', nullable: false },
  ],
}
const TABLES = [DIM, FACT]

function table(spec: TableSpec, overrides: Partial<ObservedTable> = {}): ObservedTable {
  return { exists: true, rows: 10, maxRecordId: spec.recordId ? 10 : 0, keys: keyLabels(spec), currentView: true, heldExists: true, heldRows: 1, ...overrides }
}

/** A warehouse that agrees with its ledger: 10 rows each, the fact's newest id 10, one fact held. */
function observation(
  overrides: { dim?: Partial<ObservedTable>; fact?: Partial<ObservedTable>; totals?: Record<string, LedgerTotals> } & Partial<Pick<WarehouseObservation, 'ledgerExists' | 'runs'>> = {},
): WarehouseObservation {
  const totals = overrides.totals ?? { dim_shop: { inserted: 10, held: 0, lastRecordId: null }, fact_sale: { inserted: 10, held: 1, lastRecordId: 10 } }
  return {
    ledgerExists: overrides.ledgerExists ?? true,
    runs: overrides.runs ?? 2,
    totals: new Map(Object.entries(totals)),
    tables: new Map([
      ['dim_shop', table(DIM, overrides.dim)],
      ['fact_sale', table(FACT, overrides.fact)],
    ]),
  }
}

const problems = (o: WarehouseObservation) => compareWithLedger(TABLES, o).map((f) => `${f.table} ${f.problem}`)

describe('compareWithLedger', () => {
  it('finds nothing when the warehouse holds what the ledger vouches for', () => {
    assert.deepEqual(problems(observation()), [])
  })

  it('finds nothing in a new warehouse: no ledger and no rows, or a ledger without runs and empty tables', () => {
    const empty = { exists: false, rows: 0 }
    assert.deepEqual(problems(observation({ ledgerExists: false, runs: 0, totals: {}, dim: empty, fact: empty })), [])
    assert.deepEqual(problems(observation({ runs: 0, totals: {}, dim: { rows: 0 }, fact: { rows: 0, heldRows: 0 } })), [])
  })

  it('names the tables holding rows when the ledger is missing or lists no runs', () => {
    assert.deepEqual(problems(observation({ ledgerExists: false, runs: 0, totals: {} })), [
      '_starline_loads is missing, but tables hold rows it does not vouch for ("dim_shop" 10, "fact_sale" 10)',
    ])
    assert.deepEqual(problems(observation({ runs: 0, totals: {}, dim: { rows: 0 } })), [
      '_starline_loads lists no runs, but tables hold rows it does not vouch for ("fact_sale" 10)',
    ])
  })

  it('finds a missing table, a missing current view and a missing held table', () => {
    assert.deepEqual(problems(observation({ dim: { exists: false }, fact: { currentView: false, heldExists: false } })), [
      'dim_shop is missing; the ledger vouches for 10 rows in it',
      'fact_sale_current is missing',
      '_starline_held_fact_sale is missing; the ledger vouches for 1 held rows in it',
    ])
  })

  it('finds counts, newest record ids and held rows that differ from the ledger', () => {
    assert.deepEqual(problems(observation({ dim: { rows: 11 }, fact: { rows: 9, maxRecordId: 9, heldRows: 0 } })), [
      'dim_shop holds 11 rows; the ledger vouches for 10',
      'fact_sale holds 9 rows; the ledger vouches for 10',
      'fact_sale has newest record id 9; the ledger recorded 10',
      '_starline_held_fact_sale holds 0 rows; the ledger vouches for 1',
    ])
  })

  it('skips the record id check where the ledger predates last_record_id', () => {
    const totals = { dim_shop: { inserted: 10, held: 0, lastRecordId: null }, fact_sale: { inserted: 10, held: 1, lastRecordId: null } }
    assert.deepEqual(problems(observation({ totals, fact: { maxRecordId: 12 } })), [])
  })

  it('finds lost primary and foreign keys, but not a missing version key (ensureTables adds that)', () => {
    assert.deepEqual(keyLabels(FACT), ['primary key (sale_record_id)', 'foreign key (shop_id) references "dim_shop"'])
    assert.deepEqual(problems(observation({ dim: { keys: [] }, fact: { keys: [] } })), [
      'dim_shop has lost its primary key (shop_id)',
      'fact_sale has lost its primary key (sale_record_id) and its foreign key (shop_id) references "dim_shop"',
    ])
  })

  it('turns findings into one terminal line that names the tables and `starline rebuild`', () => {
    const error = new WarehouseDriftError('star', compareWithLedger(TABLES, observation({ fact: { rows: 9 } })))
    assert.equal(error.retryable, false)
    assert.equal(
      error.message,
      'The warehouse schema "star" is not what its ledger vouches for: "fact_sale" holds 9 rows; the ledger vouches for 10. Nothing was loaded. ' +
        'Run `starline rebuild` to reload the warehouse from the lake (the current tables stay until the rebuilt ones replace them).',
    )
  })
})
