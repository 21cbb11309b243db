/**
 * The contract every Warehouse engine keeps, run against each of them
 * (`postgres-warehouse.test.ts`, `duckdb-warehouse.test.ts`). Data goes in
 * through the interface only (real Parquet files, LoadPlans as the load
 * stage builds them); each engine's fixture reads tables back as text, so
 * contents are compared row for row. Schema, table and column names are
 * hostile (quotes, spaces) throughout, so every statement of every engine
 * quotes them.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { currentViewName, heldTableName, type TableSpec } from '../../../src/schema/table-spec.js'
import type { LoadedTable } from '../../../src/schema/summaries.js'
import { quoteIdent, quoteLiteral } from '../../../src/sql/quote.js'
import { duckDbType } from '../../../src/warehouse/duckdb/duckdb-ddl.js'
import { WarehouseLoadError, WarehouseSchemaMismatchError } from '../../../src/warehouse/errors.js'
import { LEDGER_TABLES_TABLE, type LoadPlan, type LoadTable, type Warehouse } from '../../../src/warehouse/warehouse.js'

export interface WarehouseFixture {
  /** An empty warehouse, used by one test only. */
  readonly warehouse: Warehouse
  /** Every row of `schema`.`table`, ordered by `orderBy`, each value as text (null stays null). */
  rows(schema: string, table: string, columns: readonly string[], orderBy: readonly string[]): Promise<(string | null)[][]>
  cleanup(): Promise<void>
}

/** A schema name no engine can leave unquoted. */
export const HOSTILE_SCHEMA = `star "q" ; drop`

const CUSTOMER: TableSpec = {
  name: 'dim cust"omer',
  kind: 'dimension',
  columns: [
    { name: 'customer_id', type: 'integer', nullable: false },
    { name: 'na"me', type: 'text', nullable: false },
    { name: 'credit limit', type: 'decimal(12,2)', nullable: true },
    { name: 'since', type: 'date', nullable: true },
  ],
  primaryKey: ['customer_id'],
}

const ORDER: TableSpec = {
  name: 'fact "order"',
  kind: 'fact',
  recordId: 'order record id',
  columns: [
    { name: 'order_id', type: 'bigint', nullable: false },
    { name: 'customer_id', type: 'integer', nullable: true, references: { table: CUSTOMER.name, column: 'customer_id' } },
    { name: 'amount', type: 'decimal(12,2)', nullable: false },
    { name: 'paid', type: 'boolean', nullable: false },
    { name: 'last_updated', type: 'timestamp', nullable: false },
  ],
  appendOrder: ['last_updated', 'order_id'],
  naturalKey: ['order_id'],
  versionKey: ['order_id', 'last_updated'],
}

const SPECS = [ORDER, CUSTOMER] as const
type Row = readonly (string | null)[]

/** 2^53 + 1: exact only if no engine passes it through a double. */
const BIG_ID = '9007199254740993'

const CUSTOMERS_1: Row[] = [
  ['1', 'Ada "the first"', '1000.10', '2020-01-31'],
  ['2', 'Zoë; DROP TABLE x', null, null],
]
const ORDERS_1: Row[] = [
  // File order is not append order: ids follow last_updated, then order_id.
  ['30', '2', '0.01', 'false', '2024-11-18 09:00:00.5'],
  [BIG_ID, '1', '12345678.99', 'true', '2024-11-18 08:00:00.123'],
  ['31', '3', '7.00', 'true', '2024-11-18 08:30:00'],
  ['32', null, '5.50', 'false', '2024-11-18 07:00:00.001'],
]

/** Writes `rows` of `spec`'s data columns as a Parquet file, typed as the warehouse types them. */
async function writeParquet(dir: string, spec: TableSpec, rows: readonly Row[], name = `${spec.name}-${Math.random()}`): Promise<string> {
  const db = await openDuckDb({ scratchDir: dir })
  try {
    const path = join(dir, `${name.replace(/[^a-z0-9]/gi, '_')}.parquet`)
    const select = rows.length
      ? rows
          .map((row) => `SELECT ${spec.columns.map((c, i) => `CAST(${row[i] === null ? 'NULL' : quoteLiteral(row[i]!)} AS ${duckDbType(c.type)}) AS ${quoteIdent(c.name)}`).join(', ')}`)
          .join(' UNION ALL ')
      : `SELECT ${spec.columns.map((c) => `CAST(NULL AS ${duckDbType(c.type)}) AS ${quoteIdent(c.name)}`).join(', ')} LIMIT 0`
    await db.run(`COPY (${select}) TO ${quoteLiteral(path)} (FORMAT parquet)`)
    return path
  } finally {
    db.close()
  }
}

export function describeWarehouse(name: string, make: () => Promise<WarehouseFixture>): void {
  describe(name, () => {
    let dir: string
    let fixture: WarehouseFixture
    let warehouse: Warehouse
    let runs = 0

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'starline-warehouse-contract-'))
    })
    after(() => rm(dir, { recursive: true, force: true }))
    beforeEach(async () => {
      fixture = await make()
      warehouse = fixture.warehouse
    })
    afterEach(async () => {
      await warehouse.close()
      await fixture.cleanup()
    })

    async function table(spec: TableSpec, rows: readonly Row[], manifestRows = rows.length): Promise<LoadTable> {
      const path = await writeParquet(dir, spec, rows)
      return { spec, rows: manifestRows, key: `processed/${spec.name}.parquet`, objectUrl: `file://${path}`, path }
    }

    function plan(tables: readonly LoadTable[], runId = `20241118T${String(100000 + ++runs)}Z`): LoadPlan {
      return { schema: HOSTILE_SCHEMA, dataset: 'contract', runId, manifestSha256: `sha-${runId}`, tables, facts: [ORDER] }
    }

    const customers = () => fixture.rows(HOSTILE_SCHEMA, CUSTOMER.name, CUSTOMER.columns.map((c) => c.name), ['customer_id'])
    const orders = () => fixture.rows(HOSTILE_SCHEMA, ORDER.name, [ORDER.recordId!, 'order_id', 'customer_id', 'amount', 'paid', 'last_updated'], [ORDER.recordId!])
    const held = () => fixture.rows(HOSTILE_SCHEMA, heldTableName(ORDER), ['order_id', 'customer_id', 'held_since_run'], ['order_id'])
    const current = () => fixture.rows(HOSTILE_SCHEMA, currentViewName(ORDER), ['order_id', ORDER.recordId!, 'amount'], ['order_id'])
    const ledgerTables = () => fixture.rows(HOSTILE_SCHEMA, LEDGER_TABLES_TABLE, ['run_id', 'table_name', 'rows', 'inserted', 'updated', 'held'], ['run_id', 'table_name'])

    async function firstRun(): Promise<LoadPlan> {
      await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
      const first = plan([await table(CUSTOMER, CUSTOMERS_1), await table(ORDER, ORDERS_1)])
      await warehouse.loadRun(first)
      return first
    }

    describe('ensureTables', () => {
      it('creates the schema, tables, held table, current view and an empty ledger, and runs again unchanged', async () => {
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        assert.deepEqual(await customers(), [])
        assert.deepEqual(await orders(), [])
        assert.deepEqual(await held(), [])
        assert.deepEqual(await current(), [])
        assert.deepEqual(await warehouse.loadedRuns(HOSTILE_SCHEMA), [])
      })

      it('rejects an existing table that lacks a column of its spec, naming both', async () => {
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        const wider: TableSpec = { ...CUSTOMER, columns: [...CUSTOMER.columns, { name: 'segment', type: 'text', nullable: true }] }
        await assert.rejects(warehouse.ensureTables(HOSTILE_SCHEMA, [wider]), (error: Error) => {
          assert.ok(error instanceof WarehouseSchemaMismatchError, String(error))
          assert.match(error.message, /"dim cust"omer" has no column "segment"/)
          return true
        })
      })
    })

    describe('loadRun', () => {
      it('loads dimensions and facts value for value, numbering facts in append order', async () => {
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        const first = plan([await table(CUSTOMER, CUSTOMERS_1), await table(ORDER, ORDERS_1)])
        const result = await warehouse.loadRun(first)
        assert.equal(result.status, 'loaded')
        assert.deepEqual(result.tables, [
          { table: CUSTOMER.name, rows: 2, inserted: 2, updated: 0, held: 0 },
          { table: ORDER.name, rows: 4, inserted: 3, updated: 0, held: 1 },
        ])
        assert.deepEqual(await customers(), CUSTOMERS_1)
        assert.deepEqual(await orders(), [
          ['1', '32', null, '5.50', 'false', '2024-11-18 07:00:00.001'],
          ['2', BIG_ID, '1', '12345678.99', 'true', '2024-11-18 08:00:00.123'],
          ['3', '30', '2', '0.01', 'false', '2024-11-18 09:00:00.5'],
        ])
        assert.deepEqual(await held(), [['31', '3', first.runId]])
        assert.deepEqual(await ledgerTables(), [
          [first.runId, CUSTOMER.name, '2', '2', '0', '0'],
          [first.runId, ORDER.name, '4', '3', '0', '1'],
        ])
      })

      it('skips a run already in the ledger and changes nothing', async () => {
        const first = await firstRun()
        const before = [await customers(), await orders(), await ledgerTables()]
        const again = await warehouse.loadRun(first)
        assert.deepEqual(again, { runId: first.runId, status: 'already-loaded', tables: [] })
        assert.deepEqual([await customers(), await orders(), await ledgerTables()], before)
      })

      it('upserts dimensions: new keys inserted, changed rows updated, identical rows untouched', async () => {
        await firstRun()
        const second = await warehouse.loadRun(
          plan([await table(CUSTOMER, [CUSTOMERS_1[0]!, ['2', 'Zoë', '50.00', null], ['4', 'Dee', null, '2024-11-18']])]),
        )
        assert.deepEqual(second.tables[0], { table: CUSTOMER.name, rows: 3, inserted: 1, updated: 1, held: 0 })
        assert.deepEqual(await customers(), [CUSTOMERS_1[0], ['2', 'Zoë', '50.00', null], ['4', 'Dee', null, '2024-11-18']])
      })

      it('releases held facts once their dimension row arrives, with ids after the existing ones', async () => {
        const first = await firstRun()
        const second = plan([await table(CUSTOMER, [['3', 'Cy', null, null]])])
        const result = await warehouse.loadRun(second)
        assert.deepEqual(result.tables, [
          { table: CUSTOMER.name, rows: 1, inserted: 1, updated: 0, held: 0 },
          { table: ORDER.name, rows: 0, inserted: 1, updated: 0, held: 0 },
        ])
        assert.deepEqual(await held(), [])
        assert.deepEqual((await orders()).at(-1), ['4', '31', '3', '7.00', 'true', '2024-11-18 08:30:00'])
        assert.deepEqual(await ledgerTables(), [
          [first.runId, CUSTOMER.name, '2', '2', '0', '0'],
          [first.runId, ORDER.name, '4', '3', '0', '1'],
          [second.runId, CUSTOMER.name, '1', '1', '0', '0'],
          [second.runId, ORDER.name, '0', '1', '0', '0'],
        ])
      })

      it('holds and releases facts whose columns are named like the columns a load adds', async () => {
        // A model may name a column anything a table can hold, the old stage column's name included.
        const odd: TableSpec = { ...ORDER, name: 'fact odd', columns: [...ORDER.columns, { name: '_held_since', type: 'text', nullable: true }, { name: 'held since', type: 'text', nullable: true }] }
        await warehouse.ensureTables(HOSTILE_SCHEMA, [odd, CUSTOMER])
        const oddPlan = (tables: readonly LoadTable[]): LoadPlan => ({ ...plan(tables), facts: [odd] })
        const first = oddPlan([await table(CUSTOMER, CUSTOMERS_1), await table(odd, [['30', '2', '0.01', 'false', '2024-11-18 09:00:00.5', 'x', 'y'], ['31', '3', '7.00', 'true', '2024-11-18 08:30:00', null, 'z']])])
        await warehouse.loadRun(first)
        await warehouse.loadRun(oddPlan([await table(CUSTOMER, [['3', 'Cy', null, null]])]))
        const rows = await fixture.rows(HOSTILE_SCHEMA, odd.name, [odd.recordId!, 'order_id', '_held_since', 'held since'], [odd.recordId!])
        assert.deepEqual(rows, [
          ['1', '30', 'x', 'y'],
          ['2', '31', null, 'z'],
        ])
      })

      it('holds and releases facts with columns named like the held table\'s and the stage\'s run columns', async () => {
        // The fact's own held_since_run and _starline_held_since: the run columns take names the fact leaves free.
        const clash: TableSpec = {
          ...ORDER,
          name: 'fact clash',
          columns: [...ORDER.columns, { name: 'held_since_run', type: 'text', nullable: true }, { name: '_starline_held_since', type: 'text', nullable: true }],
        }
        await warehouse.ensureTables(HOSTILE_SCHEMA, [clash, CUSTOMER])
        const clashPlan = (tables: readonly LoadTable[]): LoadPlan => ({ ...plan(tables), facts: [clash] })
        const rowsOf = [
          ['30', '2', '0.01', 'false', '2024-11-18 09:00:00.5', 'own run', 'own stage'],
          ['31', '3', '7.00', 'true', '2024-11-18 08:30:00', 'kept', null],
        ]
        const first = clashPlan([await table(CUSTOMER, CUSTOMERS_1), await table(clash, rowsOf)])
        await warehouse.loadRun(first)
        const waiting = await fixture.rows(HOSTILE_SCHEMA, heldTableName(clash), ['order_id', 'held_since_run', '_starline_held_since', '_held_since_run'], ['order_id'])
        assert.deepEqual(waiting, [['31', 'kept', null, first.runId]])
        const detail = await warehouse.ledgerDetail?.(HOSTILE_SCHEMA, [clash])
        if (detail) assert.deepEqual(detail.held, [{ table: clash.name, rows: 1, oldestRunId: first.runId }])
        await warehouse.loadRun(clashPlan([await table(CUSTOMER, [['3', 'Cy', null, null]])]))
        const rows = await fixture.rows(HOSTILE_SCHEMA, clash.name, [clash.recordId!, 'order_id', 'held_since_run', '_starline_held_since'], [clash.recordId!])
        assert.deepEqual(rows, [
          ['1', '30', 'own run', 'own stage'],
          ['2', '31', 'kept', null],
        ])
      })

      it('keeps history: a new version of a fact is appended and the current view shows the newest', async () => {
        await firstRun()
        await warehouse.loadRun(plan([await table(ORDER, [['30', '2', '9.99', 'true', '2024-11-18 10:00:00']])]))
        assert.deepEqual(await current(), [
          ['30', '4', '9.99'],
          ['32', '1', '5.50'],
          [BIG_ID, '2', '12345678.99'],
        ])
      })

      it('refuses a run that would add a fact version it already holds (an emptied ledger), changing nothing', async () => {
        await firstRun()
        const before = [await customers(), await orders(), await held(), await ledgerTables()]
        const replayed = plan([await table(ORDER, [ORDERS_1[0]!])])
        await assert.rejects(warehouse.loadRun(replayed), (error: Error) => {
          assert.ok(error instanceof WarehouseLoadError, String(error))
          assert.equal(error.retryable, false)
          assert.match(error.message, /already holds these fact versions/)
          return true
        })
        assert.deepEqual([await customers(), await orders(), await held(), await ledgerTables()], before)
      })

      it('skips, in a run marked as repeating versions, those already loaded or held, numbering only the new ones', async () => {
        await firstRun()
        const before = await orders()
        const heldBefore = await held()
        // 30 is loaded, 31 is held (customer 3 has not arrived), 33 is new: ids continue from 3 without a gap.
        const newer: Row = ['33', '1', '2.00', 'true', '2024-11-18 06:00:00']
        const marked = plan([{ ...(await table(ORDER, [ORDERS_1[0]!, ORDERS_1[2]!, newer])), repeatsVersions: true }])
        const result = await warehouse.loadRun(marked)
        const loaded = result.tables.find((t) => t.table === ORDER.name)
        assert.deepEqual({ inserted: loaded?.inserted, held: loaded?.held, alreadyHeld: loaded?.alreadyHeld }, { inserted: 1, held: 1, alreadyHeld: 2 })
        assert.deepEqual(await orders(), [...before, ['4', '33', '1', '2.00', 'true', '2024-11-18 06:00:00']])
        assert.deepEqual(await held(), heldBefore, 'the held version is neither doubled nor re-stamped')
      })

      it('refuses a run whose dimension rows repeat a key, blaming the run, not the ledger', async () => {
        await firstRun()
        const before = [await customers(), await orders(), await ledgerTables()]
        const repeated = plan([await table(CUSTOMER, [['9', 'Nia', '1.00', null], ['9', 'Nia', '1.00', null]])])
        await assert.rejects(warehouse.loadRun(repeated), (error: Error) => {
          assert.ok(error instanceof WarehouseLoadError, String(error))
          assert.equal(error.retryable, false)
          assert.match(error.message, new RegExp(`Cannot load run ${repeated.runId} into "${CUSTOMER.name}".*repeat a key.*one row per key`))
          assert.doesNotMatch(error.message, /ledger/)
          return true
        })
        assert.deepEqual([await customers(), await orders(), await ledgerTables()], before)
      })

      it('rolls back the whole run when a table fails, leaving data, held rows and ledger as they were', async () => {
        const first = await firstRun()
        const before = [await customers(), await orders(), await held(), await ledgerTables()]
        // The fact file holds one row fewer than its manifest says: the load fails after the dimension loaded.
        const broken = plan([await table(CUSTOMER, [['3', 'Cy', null, null]]), await table(ORDER, [['40', '1', '1.00', 'true', '2024-11-19 00:00:00']], 2)])
        await assert.rejects(warehouse.loadRun(broken), (error: Error) => {
          assert.ok(error instanceof WarehouseLoadError, String(error))
          assert.equal(error.retryable, false)
          assert.match(error.message, new RegExp(`run ${broken.runId}.*"fact "order""`))
          return true
        })
        assert.deepEqual([await customers(), await orders(), await held(), await ledgerTables()], before)
        assert.deepEqual((await warehouse.loadedRuns(HOSTILE_SCHEMA)).map((r) => r.runId), [first.runId])
      })

      it('gives the same record ids to the same runs, whatever the warehouse did before', async () => {
        const plans = [
          plan([await table(CUSTOMER, CUSTOMERS_1), await table(ORDER, ORDERS_1)]),
          plan([await table(ORDER, [['50', '1', '3.00', 'true', '2024-11-19 01:00:00'], ['49', '9', '2.00', 'true', '2024-11-19 01:00:00']])]),
          plan([await table(CUSTOMER, [['3', 'Cy', null, null], ['9', 'Ix', null, null]])]),
        ]
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        for (const p of plans) await warehouse.loadRun(p)
        // A failed attempt in between (the kill of a crash-and-rerun) must not shift any id.
        const replay = await make()
        try {
          await replay.warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
          await replay.warehouse.loadRun(plans[0]!)
          const failing = { ...plans[1]!, tables: [{ ...plans[1]!.tables[0]!, rows: 99 }] }
          await assert.rejects(replay.warehouse.loadRun(failing), WarehouseLoadError)
          for (const p of plans.slice(1)) await replay.warehouse.loadRun(p)
          const columns = [ORDER.recordId!, 'order_id', 'customer_id']
          const expected = [['1', '32', null], ['2', BIG_ID, '1'], ['3', '30', '2'], ['4', '50', '1'], ['5', '31', '3'], ['6', '49', '9']]
          assert.deepEqual(await fixture.rows(HOSTILE_SCHEMA, ORDER.name, columns, [ORDER.recordId!]), expected)
          assert.deepEqual(await replay.rows(HOSTILE_SCHEMA, ORDER.name, columns, [ORDER.recordId!]), expected)
        } finally {
          await replay.warehouse.close()
          await replay.cleanup()
        }
      })

      it('numbers a bulk append over all its rows and holds the unresolved ones after', async () => {
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        const rows: Row[] = Array.from({ length: 1200 }, (_, i) => [String(1000 + i), i === 10 ? '7' : '1', '1.00', 'true', `2024-11-18 00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`])
        const result = await warehouse.loadRun(plan([await table(CUSTOMER, CUSTOMERS_1), await table(ORDER, rows)]))
        assert.deepEqual(result.tables[1], { table: ORDER.name, rows: 1200, inserted: 1199, updated: 0, held: 1 })
        const loaded = await orders()
        assert.equal(loaded.length, 1199)
        // Ids follow append order over all 1,200 rows: the held row's id (11) stays unused.
        assert.deepEqual(loaded[10]?.slice(0, 2), ['12', '1011'])
        assert.deepEqual(await held(), [['1010', '7', result.runId]])
      })

      it('numbers a file in append order by its row position with the ids a sort would give, held rows and later runs included', async () => {
        // Two bulk runs, the rows shuffled, order ids against the grain of time: a numbering by anything but
        // (last_updated, order_id) shows. The second run's rows of customer 7 wait until a third run brings it.
        const stamp = (n: number) => `2024-11-18 ${String(8 + Math.floor(n / 3600)).padStart(2, '0')}:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.${String(n % 1000).padStart(3, '0')}`
        const run = (from: number, count: number, waiting: boolean): Row[] =>
          Array.from({ length: count }, (_, i) => from + ((i * 7919) % count)).map((n) => [String(5_000 - n), waiting && n % 97 === 0 ? '7' : '1', '1.00', 'true', stamp(Math.floor(n / 2))])
        const runs = [run(0, 1500, false), run(1500, 1500, true)]
        const waiting = runs[1]!.filter((row) => row[1] === '7')
        assert.ok(waiting.length > 0)
        // Independent of any engine: ids from 1 in append order, run by run, the released rows last.
        const byAppendOrder = (a: Row, b: Row) => (a[4]! < b[4]! ? -1 : a[4]! > b[4]! ? 1 : Number(a[0]) - Number(b[0]))
        const numbered = [...runs, waiting].flatMap((rows) => [...rows].sort(byAppendOrder)).map((row, i) => [String(i + 1), row[0]!, row[1]!] as Row)
        const expected = [...numbered.slice(0, 3000).filter((row) => row[2] !== '7'), ...numbered.slice(3000)]
        const loadAll = async (target: Warehouse, sorted: boolean) => {
          await target.ensureTables(HOSTILE_SCHEMA, SPECS)
          const results = []
          for (const [index, rows] of runs.entries()) {
            const orders = sorted ? { ...(await table(ORDER, [...rows].sort(byAppendOrder))), orderedBy: ORDER.appendOrder! } : await table(ORDER, rows)
            const result = await target.loadRun(plan([...(index === 0 ? [await table(CUSTOMER, CUSTOMERS_1)] : []), orders]))
            results.push(result.tables.at(-1))
          }
          await target.loadRun(plan([await table(CUSTOMER, [['7', 'Sev', null, null]])]))
          return results
        }
        const loaded = await loadAll(warehouse, true)
        assert.deepEqual(loaded, [
          { table: ORDER.name, rows: 1500, inserted: 1500, updated: 0, held: 0 },
          { table: ORDER.name, rows: 1500, inserted: 1500 - waiting.length, updated: 0, held: waiting.length },
        ])
        const columns = [ORDER.recordId!, 'order_id', 'customer_id']
        assert.deepEqual(await fixture.rows(HOSTILE_SCHEMA, ORDER.name, columns, [ORDER.recordId!]), expected)
        // The same rows unsorted, without the manifest's order: numbered by sorting, to the same ids.
        const replay = await make()
        try {
          await loadAll(replay.warehouse, false)
          assert.deepEqual(await replay.rows(HOSTILE_SCHEMA, ORDER.name, columns, [ORDER.recordId!]), expected)
        } finally {
          await replay.warehouse.close()
          await replay.cleanup()
        }
      })
    })

    describe('loadedRuns', () => {
      it('lists the loaded runs in run order with their dataset, manifest checksum and rows', async () => {
        const first = await firstRun()
        const second = plan([await table(CUSTOMER, [['3', 'Cy', null, null]])])
        const before = Date.now()
        await warehouse.loadRun(second)
        const ledger = await warehouse.loadedRuns(HOSTILE_SCHEMA)
        assert.deepEqual(
          ledger.map(({ loadedAt: _, ...row }) => row),
          [
            { runId: first.runId, dataset: 'contract', manifestSha256: first.manifestSha256, rows: 6, status: 'loaded' },
            { runId: second.runId, dataset: 'contract', manifestSha256: second.manifestSha256, rows: 1, status: 'loaded' },
          ],
        )
        assert.ok(ledger.every((row) => row.loadedAt instanceof Date))
        assert.ok(Math.abs(ledger[1]!.loadedAt.getTime() - before) < 60_000, 'loaded_at is the load time')
      })

      it('is empty for a schema never loaded', async () => {
        assert.deepEqual(await warehouse.loadedRuns('never loaded'), [])
        assert.deepEqual(await warehouse.loadedRuns('never loaded', { from: '20241118T000000Z' }), [])
        assert.deepEqual(await warehouse.loadedRuns('never loaded', { newest: true }), [])
      })

      it('lists from a given run on, that run included, and only the newest when asked', async () => {
        const first = await firstRun()
        const second = plan([await table(CUSTOMER, [['3', 'Cy', null, null]])])
        const third = plan([await table(CUSTOMER, [['4', 'Di', null, null]])])
        await warehouse.loadRun(second)
        await warehouse.loadRun(third)
        const all = await warehouse.loadedRuns(HOSTILE_SCHEMA)
        assert.deepEqual(all.map((r) => r.runId), [first.runId, second.runId, third.runId])
        assert.deepEqual(await warehouse.loadedRuns(HOSTILE_SCHEMA, { from: second.runId }), all.slice(1))
        // A run between two loaded ones: the ones after it.
        assert.deepEqual(await warehouse.loadedRuns(HOSTILE_SCHEMA, { from: `${second.runId}0` }), all.slice(2))
        assert.deepEqual(await warehouse.loadedRuns(HOSTILE_SCHEMA, { from: '99990101T000000Z' }), [])
        assert.deepEqual(await warehouse.loadedRuns(HOSTILE_SCHEMA, { newest: true }), all.slice(2))
      })
    })

    describe('newestLoadedRun', () => {
      it('is the loaded run with the highest run id, whatever the order it was loaded in', async () => {
        const first = await firstRun()
        // Loaded after the first but with an earlier id (a run id is a time; the ledger's order is by id).
        await warehouse.loadRun(plan([await table(CUSTOMER, [['3', 'Cy', null, null]])], '20241117T235959Z'))
        const newest = await warehouse.newestLoadedRun(HOSTILE_SCHEMA)
        assert.deepEqual(newest, (await warehouse.loadedRuns(HOSTILE_SCHEMA)).at(-1))
        assert.deepEqual(newest && { runId: newest.runId, manifestSha256: newest.manifestSha256, rows: newest.rows }, { runId: first.runId, manifestSha256: first.manifestSha256, rows: 6 })
      })

      it('is undefined for a schema never loaded', async () => {
        assert.equal(await warehouse.newestLoadedRun('never loaded'), undefined)
      })
    })

    describe('onTableLoaded', () => {
      it('is told as each table of the run is done, in load order, with what the result reports', async () => {
        await warehouse.ensureTables(HOSTILE_SCHEMA, SPECS)
        const told: LoadedTable[] = []
        const result = await warehouse.loadRun({ ...plan([await table(CUSTOMER, CUSTOMERS_1), await table(ORDER, ORDERS_1)]), onTableLoaded: (t) => told.push(t) })
        assert.deepEqual(told, result.tables)
      })
    })

    describe('ledgerDetail', () => {
      it('gives the ledger per table and the facts held now, with the run that first held them', async () => {
        assert.ok(warehouse.ledgerDetail, `${name} reports its ledger detail (starline status reads it)`)
        const first = await firstRun()
        const second = plan([await table(CUSTOMER, CUSTOMERS_1.slice(0, 1))])
        await warehouse.loadRun(second)
        const detail = await warehouse.ledgerDetail(HOSTILE_SCHEMA, [ORDER])
        assert.deepEqual(
          detail.tables.map((t) => [t.runId, t.table, t.rows, t.inserted, t.updated, t.held]),
          (await ledgerTables()).map(([runId, table, ...counts]) => [runId, table, ...counts.map(Number)]),
        )
        assert.ok(detail.tables.every((t) => t.loadedAt instanceof Date && !Number.isNaN(t.loadedAt.getTime())))
        const waiting = await held()
        assert.ok(waiting.length > 0, 'the first run holds a fact')
        assert.deepEqual(detail.held, [{ table: ORDER.name, rows: waiting.length, oldestRunId: first.runId }])
      })

      it('gives only the per-table rows of runs from a given one on, and every held fact, when asked', async () => {
        const first = await firstRun()
        const second = plan([await table(CUSTOMER, CUSTOMERS_1.slice(0, 1))])
        await warehouse.loadRun(second)
        const all = await warehouse.ledgerDetail!(HOSTILE_SCHEMA, [ORDER])
        const recent = await warehouse.ledgerDetail!(HOSTILE_SCHEMA, [ORDER], { from: second.runId })
        assert.ok(all.tables.some((t) => t.runId === first.runId))
        assert.deepEqual(recent.tables, all.tables.filter((t) => t.runId === second.runId))
        assert.ok(recent.tables.length > 0)
        assert.deepEqual(recent.held, all.held)
      })

      it('is empty for a schema never loaded', async () => {
        assert.deepEqual(await warehouse.ledgerDetail!('never loaded', [ORDER]), { tables: [], held: [] })
      })
    })
  })
}

