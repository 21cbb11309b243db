import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import {
  generateTotesys,
  InvalidGenerateOptionsError,
  TotesysSchemaExistsError,
  TotesysSourceError,
} from '../../../src/datasets/totesys/generator.js'
import type { GenerateSummary } from '../../../src/datasets/totesys/generator.js'
import { InvalidSimulateOptionsError, simulateActivity, TotesysSourceNotFoundError } from '../../../src/datasets/totesys/simulator.js'
import { TOTESYS_TABLES } from '../../../src/datasets/totesys/source-tables.js'
import { startEmbeddedPostgres } from '../../../src/runtime/embedded-postgres-server.js'
import type { EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { quoteIdent } from '../../../src/sql/quote.js'

// A Tuesday: history ends on a Monday, so the simulator's first day is a weekday with orders.
const UNTIL = new Date('2024-11-19T00:00:00Z')
const OPTIONS = { scale: 0.1, until: UNTIL, seed: 7 } as const

let server: EmbeddedPostgresServer
const clients: pg.Client[] = []

before(async () => {
  server = await startEmbeddedPostgres()
})

after(async () => {
  for (const client of clients) await client.end()
  await server?.stop()
})

async function connect(database: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: await server.createDatabase(database) })
  await client.connect()
  clients.push(client)
  return client
}

async function scalar<T>(client: pg.Client, sql: string, values: readonly unknown[] = []): Promise<T> {
  const result = await client.query({ text: sql, values: [...values], rowMode: 'array' })
  return result.rows[0]?.[0] as T
}

async function rowCounts(client: pg.Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of TOTESYS_TABLES) counts[table] = await scalar<number>(client, `SELECT count(*)::int FROM ${quoteIdent(table)}`)
  return counts
}

/** One md5 per table over every row in key order: equal digests mean identical contents. */
async function tableDigests(client: pg.Client): Promise<Record<string, string>> {
  const digests: Record<string, string> = {}
  for (const table of TOTESYS_TABLES) {
    digests[table] = await scalar<string>(
      client,
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY ${quoteIdent(`${table}_id`)}), '')) FROM ${quoteIdent(table)} t`,
    )
  }
  return digests
}

async function newestLastUpdated(client: pg.Client): Promise<string> {
  const perTable = TOTESYS_TABLES.map((table) => `SELECT max(last_updated) AS m FROM ${quoteIdent(table)}`)
  return scalar<string>(client, `SELECT max(m)::text FROM (${perTable.join(' UNION ALL ')}) t`)
}

/** Invariants that hold after generation and after any simulation. */
async function assertOrderIntegrity(client: pg.Client): Promise<void> {
  const checks: Record<string, string> = {
    'orders without exactly one transaction': `
      SELECT count(*) FROM sales_order s WHERE (SELECT count(*) FROM transaction t WHERE t.sales_order_id = s.sales_order_id) <> 1`,
    'purchases without exactly one transaction': `
      SELECT count(*) FROM purchase_order p WHERE (SELECT count(*) FROM transaction t WHERE t.purchase_order_id = p.purchase_order_id) <> 1`,
    'transactions with a wrong type or order reference': `
      SELECT count(*) FROM transaction WHERE NOT (
        (transaction_type = 'SALE' AND sales_order_id IS NOT NULL AND purchase_order_id IS NULL) OR
        (transaction_type = 'PURCHASE' AND purchase_order_id IS NOT NULL AND sales_order_id IS NULL))`,
    'transactions without a payment': `
      SELECT count(*) FROM transaction t LEFT JOIN payment p USING (transaction_id) WHERE p.payment_id IS NULL`,
    'sales payments that differ from their order': `
      SELECT count(*) FROM payment p JOIN transaction t USING (transaction_id) JOIN sales_order s USING (sales_order_id)
        JOIN payment_type pt USING (payment_type_id)
       WHERE p.payment_amount <> s.units_sold * s.unit_price OR p.currency_id <> s.currency_id
          OR p.counterparty_id <> s.counterparty_id OR pt.payment_type_name <> 'SALES_RECEIPT'
          OR p.created_at <> s.created_at OR t.created_at <> s.created_at OR p.payment_date <> s.agreed_payment_date`,
    'purchase payments that differ from their order': `
      SELECT count(*) FROM payment p JOIN transaction t USING (transaction_id) JOIN purchase_order o USING (purchase_order_id)
        JOIN payment_type pt USING (payment_type_id)
       WHERE p.payment_amount <> o.item_quantity * o.item_unit_price OR p.currency_id <> o.currency_id
          OR p.counterparty_id <> o.counterparty_id OR pt.payment_type_name <> 'PURCHASE_PAYMENT'
          OR p.created_at <> o.created_at OR t.created_at <> o.created_at OR p.payment_date <> o.agreed_payment_date`,
    'sales orders referencing a design created later': `
      SELECT count(*) FROM sales_order s JOIN design d USING (design_id) WHERE d.created_at >= s.created_at`,
    'orders and transactions changed after creation': `
      SELECT (SELECT count(*) FROM sales_order WHERE last_updated <> created_at)
           + (SELECT count(*) FROM purchase_order WHERE last_updated <> created_at)
           + (SELECT count(*) FROM transaction WHERE last_updated <> created_at)`,
    'payments whose last_updated does not match paid': `
      SELECT count(*) FROM payment WHERE CASE WHEN paid
        THEN last_updated <= created_at OR last_updated::date <> payment_date::date
        ELSE last_updated <> created_at END`,
  }
  for (const [problem, sql] of Object.entries(checks)) {
    assert.equal(Number(await scalar<string>(client, sql)), 0, problem)
  }
}

describe('generateTotesys', () => {
  let source: pg.Client
  let summary: GenerateSummary

  before(async () => {
    source = await connect('shape')
    summary = await generateTotesys(source, OPTIONS)
  })

  it('reports the rows it loaded and the span it covers', async () => {
    assert.deepEqual(summary.rows, await rowCounts(source))
    assert.equal(summary.until.toISOString(), UNTIL.toISOString())
    assert.ok(summary.until.getTime() - summary.from.getTime() > 700 * 86_400_000, 'about two years of history')
  })

  it('keeps the reference tables at their fixed sizes', async () => {
    const counts = await rowCounts(source)
    assert.deepEqual(
      { address: counts.address, counterparty: counts.counterparty, currency: counts.currency, department: counts.department, staff: counts.staff, payment_type: counts.payment_type },
      { address: 30, counterparty: 20, currency: 3, department: 8, staff: 20, payment_type: 4 },
    )
    assert.equal(await scalar(source, `SELECT string_agg(currency_code, ',' ORDER BY currency_id) FROM currency`), 'GBP,USD,EUR')
    assert.equal(
      await scalar(source, `SELECT string_agg(payment_type_name::text, ',' ORDER BY payment_type_id) FROM payment_type`),
      'SALES_RECEIPT,SALES_REFUND,PURCHASE_PAYMENT,PURCHASE_REFUND',
    )
  })

  it('scales orders, designs, transactions and payments', async () => {
    const counts = await rowCounts(source)
    const near = (actual: number | undefined, expected: number) =>
      assert.ok(Math.abs((actual ?? 0) - expected) <= expected * 0.15, `${actual} is not within 15% of ${expected}`)
    near(counts.sales_order, 1120)
    near(counts.purchase_order, 465)
    near(counts.design, 47)
    assert.equal(counts.transaction, (counts.sales_order ?? 0) + (counts.purchase_order ?? 0))
    assert.equal(counts.payment, counts.transaction)
  })

  it('links each order to one transaction and one payment of exactly its amount', async () => {
    await assertOrderIntegrity(source)
  })

  it('places orders on weekdays in business hours, before until', async () => {
    const outside = await scalar<string>(
      source,
      `SELECT count(*) FROM (SELECT created_at FROM sales_order UNION ALL SELECT created_at FROM purchase_order) o
        WHERE extract(isodow FROM created_at) > 5 OR extract(hour FROM created_at) NOT BETWEEN 8 AND 18`,
    )
    assert.equal(Number(outside), 0)
    assert.ok((await newestLastUpdated(source)) < '2024-11-19', 'nothing at or after until')
  })

  it('writes agreed dates as YYYY-MM-DD text in the profiled ranges', async () => {
    const stats = await source.query<{ bad_format: string; min_pay: number; max_pay: number; min_delivery: number; max_delivery: number; late: string }>(
      `SELECT count(*) FILTER (WHERE agreed_payment_date !~ '^\\d{4}-\\d{2}-\\d{2}$' OR agreed_delivery_date !~ '^\\d{4}-\\d{2}-\\d{2}$') AS bad_format,
              min(agreed_payment_date::date - created_at::date) AS min_pay, max(agreed_payment_date::date - created_at::date) AS max_pay,
              min(agreed_delivery_date::date - created_at::date) AS min_delivery, max(agreed_delivery_date::date - created_at::date) AS max_delivery,
              count(*) FILTER (WHERE agreed_delivery_date::date - created_at::date > 7) AS late
         FROM sales_order`,
    )
    const row = stats.rows[0]
    assert.ok(row)
    assert.equal(Number(row.bad_format), 0)
    assert.deepEqual([row.min_pay, row.max_pay, row.min_delivery], [0, 6, 0])
    assert.ok(row.max_delivery > 7 && row.max_delivery <= 365, 'a few deliveries are much later')
    assert.ok(Number(row.late) < 1120 * 0.03, 'but only a few')
  })

  it('pays about 60% of the payments due before until, on their payment date', async () => {
    const share = Number(await scalar<string>(source, `SELECT avg(paid::int) FROM payment WHERE payment_date < '2024-11-19'`))
    assert.ok(share > 0.5 && share < 0.7, `paid share ${share}`)
    assert.equal(Number(await scalar<string>(source, `SELECT count(*) FROM payment WHERE paid AND payment_date >= '2024-11-19'`)), 0)
    assert.ok(Number(await scalar<string>(source, `SELECT count(*) FROM payment WHERE payment_date >= '2024-11-19'`)) > 0)
  })

  it('keeps the profiled nulls and dirty values', async () => {
    assert.equal(await scalar(source, 'SELECT count(*)::int FROM address WHERE address_line_2 IS NULL'), 20)
    assert.equal(await scalar(source, 'SELECT count(*)::int FROM address WHERE district IS NULL'), 15)
    assert.equal(await scalar(source, `SELECT count(*)::int FROM department WHERE location = 'Leds'`), 1)
    assert.equal(await scalar(source, 'SELECT count(*)::int FROM department WHERE location IS NULL AND manager IS NULL'), 1)
    assert.ok(
      (await scalar<number>(source, 'SELECT count(*)::int FROM staff JOIN department USING (department_id) WHERE location IS NULL')) > 0,
      'some staff work in the department without a location',
    )
    assert.ok((await scalar<number>(source, `SELECT count(*)::int FROM counterparty WHERE counterparty_legal_name LIKE '%,%'`)) > 0)
  })

  it('writes millisecond timestamps, some of them on a whole second', async () => {
    const whole = await scalar<number>(source, `SELECT count(*)::int FROM sales_order WHERE date_trunc('second', created_at) = created_at`)
    const fractional = await scalar<number>(source, `SELECT count(*)::int FROM sales_order WHERE date_trunc('second', created_at) <> created_at`)
    assert.ok(whole > 0, 'some .000 timestamps')
    assert.ok(fractional > 1000, 'most carry milliseconds')
  })

  it('leaves the constraints and indexes exactly as the DDL creates them', async () => {
    const ddlOnly = await connect('ddl-only')
    await ddlOnly.query(await readFile(new URL('../../../src/datasets/totesys/source-schema.sql', import.meta.url), 'utf8'))
    const schemaShape = async (client: pg.Client) => [
      await scalar<string>(
        client,
        `SELECT string_agg(cl.relname || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid), E'\\n' ORDER BY cl.relname, co.conname)
           FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid WHERE cl.relnamespace = 'public'::regnamespace`,
      ),
      await scalar<string>(client, `SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'`),
    ]
    const [constraints, indexes] = await schemaShape(source)
    assert.match(constraints ?? '', /payment_transaction_id_fkey FOREIGN KEY \(transaction_id\) REFERENCES transaction\(transaction_id\)/)
    assert.deepEqual([constraints, indexes], await schemaShape(ddlOnly))
  })

  it('moves each sequence past the loaded ids', async () => {
    await source.query('BEGIN')
    try {
      const designId = await scalar<number>(source, `INSERT INTO design (design_name, file_location, file_name, last_updated) VALUES ('x', '/x', 'x.json', now()) RETURNING design_id`)
      const transactionId = await scalar<number>(source, `INSERT INTO transaction (transaction_type, last_updated) VALUES ('SALE', now()) RETURNING transaction_id`)
      const counts = await rowCounts(source)
      assert.equal(designId, counts.design)
      assert.equal(transactionId, counts.transaction)
    } finally {
      await source.query('ROLLBACK')
    }
  })

  it('produces identical tables for the same seed, and other data for another seed', async () => {
    const again = await connect('same-seed')
    await generateTotesys(again, OPTIONS)
    assert.deepEqual(await tableDigests(again), await tableDigests(source))

    const other = await connect('other-seed')
    await generateTotesys(other, { ...OPTIONS, seed: 8 })
    assert.notEqual((await tableDigests(other)).sales_order, (await tableDigests(source)).sales_order)
  })

  it('refuses to generate over existing ToteSys tables and leaves them as they were', async () => {
    const before = await tableDigests(source)
    await assert.rejects(generateTotesys(source, { ...OPTIONS, seed: 9 }), (error: unknown) => {
      assert.ok(error instanceof TotesysSchemaExistsError)
      assert.match(error.message, /already exist.*replace: true/s)
      assert.equal(error.retryable, false)
      return true
    })
    assert.deepEqual(await tableDigests(source), before)
  })

  it('replaces existing ToteSys tables when asked', async () => {
    const target = await connect('replaced')
    await generateTotesys(target, { ...OPTIONS, seed: 9 })
    await generateTotesys(target, { ...OPTIONS, replace: true })
    assert.deepEqual(await tableDigests(target), await tableDigests(source))
  })

  it('rolls back and keeps the data when a replace cannot drop the tables', async () => {
    const target = await connect('guarded')
    await generateTotesys(target, OPTIONS)
    await target.query('CREATE VIEW big_sales AS SELECT * FROM sales_order WHERE units_sold > 90000')
    await assert.rejects(generateTotesys(target, { ...OPTIONS, seed: 9, replace: true }), (error: unknown) => {
      assert.ok(error instanceof TotesysSourceError)
      assert.match(error.message, /rolled back: .*depend/)
      assert.equal(error.retryable, false)
      return true
    })
    assert.deepEqual(await tableDigests(target), await tableDigests(source))
  })

  it('rejects a scale that is not a positive number', async () => {
    for (const scale of [0, -1, Number.NaN]) {
      await assert.rejects(generateTotesys(source, { scale }), InvalidGenerateOptionsError)
    }
  })
})

describe('simulateActivity', () => {
  let source: pg.Client

  before(async () => {
    source = await connect('simulated')
    await generateTotesys(source, OPTIONS)
  })

  it('adds a day of orders, all later than the newest last_updated before it', async () => {
    const previous = await newestLastUpdated(source)
    const countsBefore = await rowCounts(source)
    const day = await simulateActivity(source, { days: 1, seed: 3, silentEditChance: 0 })

    assert.equal(day.from.toISOString(), new Date(`${previous.replace(' ', 'T')}Z`).toISOString())
    assert.equal(day.to.toISOString(), '2024-11-20T00:00:00.000Z')
    assert.ok(day.salesOrders > 0 && day.purchaseOrders > 0, 'a Tuesday has orders')
    assert.equal(day.transactions, day.salesOrders + day.purchaseOrders)
    assert.equal(day.payments, day.transactions)

    const countsAfter = await rowCounts(source)
    assert.equal(countsAfter.sales_order, (countsBefore.sales_order ?? 0) + day.salesOrders)
    assert.equal(countsAfter.purchase_order, (countsBefore.purchase_order ?? 0) + day.purchaseOrders)
    assert.equal(countsAfter.payment, (countsBefore.payment ?? 0) + day.payments)
    for (const table of ['sales_order', 'purchase_order', 'transaction', 'payment'] as const) {
      const newRows = await scalar<number>(source, `SELECT count(*)::int FROM ${quoteIdent(table)} WHERE created_at > $1::timestamp`, [previous])
      assert.equal(newRows, (countsAfter[table] ?? 0) - (countsBefore[table] ?? 0), `${table}: every new row is later than ${previous}`)
      const outsideDay = await scalar<number>(
        source,
        `SELECT count(*)::int FROM ${quoteIdent(table)} WHERE created_at > $1::timestamp
            AND (created_at::date <> '2024-11-19' OR extract(hour FROM created_at) NOT BETWEEN 8 AND 18)`,
        [previous],
      )
      assert.equal(outsideDay, 0, `${table}: new rows fall in business hours of the simulated day`)
    }
    await assertOrderIntegrity(source)
  })

  it('pays due payments, moving their last_updated to the payment date', async () => {
    const previous = await newestLastUpdated(source)
    const days = await simulateActivity(source, { days: 5, seed: 4, silentEditChance: 0 })
    assert.ok(days.paymentsPaid > 0)
    const paidNow = await source.query<{ payment_date: string; updated: string; created: string }>(
      `SELECT payment_date, last_updated::date::text AS updated, created_at::text AS created FROM payment
        WHERE paid AND last_updated > $1::timestamp AND last_updated > created_at`,
      [previous],
    )
    assert.equal(paidNow.rows.length, days.paymentsPaid)
    for (const row of paidNow.rows) assert.equal(row.updated, row.payment_date)
    assert.ok(
      paidNow.rows.some((row) => row.created < previous),
      'payments created before the simulation get paid too',
    )
    await assertOrderIntegrity(source)
  })

  it('edits a design silently: file_location changes, last_updated does not', async () => {
    const before = await source.query<{ design_id: number; file_location: string; last_updated: string }>(
      'SELECT design_id, file_location, last_updated::text FROM design ORDER BY design_id',
    )
    const result = await simulateActivity(source, { days: 1, seed: 5, silentEditChance: 1 })
    assert.equal(result.silentDesignEdits.length, 1)
    const id = result.silentDesignEdits[0]
    const original = before.rows.find((row) => row.design_id === id)
    assert.ok(original, `design ${id} existed before`)
    const after = await source.query<{ file_location: string; last_updated: string }>(
      'SELECT file_location, last_updated::text FROM design WHERE design_id = $1',
      [id],
    )
    assert.notEqual(after.rows[0]?.file_location, original.file_location)
    assert.equal(after.rows[0]?.last_updated, original.last_updated)
  })

  it('makes the same changes for the same seed and starting state', async () => {
    const a = await connect('simulated-a')
    const b = await connect('simulated-b')
    for (const client of [a, b]) {
      await generateTotesys(client, OPTIONS)
      await simulateActivity(client, { days: 3, seed: 6 })
    }
    assert.deepEqual(await tableDigests(a), await tableDigests(b))
  })

  it('refuses a database without ToteSys tables', async () => {
    const empty = await connect('empty')
    await assert.rejects(simulateActivity(empty), (error: unknown) => {
      assert.ok(error instanceof TotesysSourceNotFoundError)
      assert.match(error.message, /Run generate first/)
      return true
    })
  })

  it('rejects days that are not a whole positive number', async () => {
    for (const days of [0, 1.5, -2]) {
      await assert.rejects(simulateActivity(source, { days }), InvalidSimulateOptionsError)
    }
  })
})
