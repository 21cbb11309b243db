/**
 * The independent computation tests compare the warehouse with: for each
 * star table, SQL over the source producing the same row text.
 */
import assert from 'node:assert/strict'
import type { Pipeline } from './pipeline-fixture.js'

/** Source-side SQL for each dimension, producing the same row text as the warehouse table. */
export const DIMENSIONS = {
  dim_location: {
    source: 'SELECT (address_id, address_line_1, address_line_2, district, city, postal_code, country, phone)::text AS r FROM address ORDER BY address_id',
    warehouse: 'SELECT (location_id, address_line_1, address_line_2, district, city, postal_code, country, phone)::text AS r FROM dim_location ORDER BY location_id',
  },
  dim_currency: {
    source: 'SELECT (currency_id, currency_code)::text AS r FROM currency ORDER BY currency_id',
    warehouse: 'SELECT (currency_id, currency_code)::text AS r FROM dim_currency ORDER BY currency_id',
  },
  dim_design: {
    source: 'SELECT (design_id, design_name, file_location, file_name)::text AS r FROM design ORDER BY design_id',
    warehouse: 'SELECT (design_id, design_name, file_location, file_name)::text AS r FROM dim_design ORDER BY design_id',
  },
  dim_payment_type: {
    source: 'SELECT (payment_type_id, payment_type_name::text)::text AS r FROM payment_type ORDER BY payment_type_id',
    warehouse: 'SELECT (payment_type_id, payment_type_name)::text AS r FROM dim_payment_type ORDER BY payment_type_id',
  },
  dim_transaction: {
    source: 'SELECT (transaction_id, transaction_type::text, sales_order_id, purchase_order_id)::text AS r FROM transaction ORDER BY transaction_id',
    warehouse: 'SELECT (transaction_id, transaction_type, sales_order_id, purchase_order_id)::text AS r FROM dim_transaction ORDER BY transaction_id',
  },
  dim_staff: {
    source: `SELECT (s.staff_id, s.first_name, s.last_name, d.department_name, coalesce(d.location, 'Unknown'), s.email_address)::text AS r
               FROM staff s JOIN department d USING (department_id) ORDER BY s.staff_id`,
    warehouse: 'SELECT (staff_id, first_name, last_name, department_name, location, email_address)::text AS r FROM dim_staff ORDER BY staff_id',
  },
  dim_counterparty: {
    source: `SELECT (c.counterparty_id, c.counterparty_legal_name, a.address_line_1, a.address_line_2, a.district, a.city,
                     a.postal_code, a.country, a.phone)::text AS r
               FROM counterparty c JOIN address a ON a.address_id = c.legal_address_id ORDER BY c.counterparty_id`,
    warehouse: `SELECT (counterparty_id, counterparty_legal_name, counterparty_legal_address_line_1, counterparty_legal_address_line_2,
                        counterparty_legal_district, counterparty_legal_city, counterparty_legal_postal_code,
                        counterparty_legal_country, counterparty_legal_phone_number)::text AS r
               FROM dim_counterparty ORDER BY counterparty_id`,
  },
} as const

/**
 * Source-side SQL for each fact's current rows, and the warehouse's latest
 * version of each source id, in the same row text.
 */
export const FACTS = {
  fact_sales_order: {
    source: `SELECT (sales_order_id, created_at::date, created_at::time, last_updated::date, last_updated::time, staff_id,
                     counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date::date,
                     agreed_delivery_date::date, agreed_delivery_location_id)::text AS r FROM sales_order ORDER BY sales_order_id`,
    latest: `SELECT (sales_order_id, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id,
                     counterparty_id, units_sold, unit_price, currency_id, design_id, agreed_payment_date,
                     agreed_delivery_date, agreed_delivery_location_id)::text AS r
               FROM (SELECT DISTINCT ON (sales_order_id) * FROM fact_sales_order ORDER BY sales_order_id, last_updated_date DESC, last_updated_time DESC, sales_record_id DESC) t
              ORDER BY sales_order_id`,
  },
  fact_purchase_order: {
    source: `SELECT (purchase_order_id, created_at::date, created_at::time, last_updated::date, last_updated::time, staff_id,
                     counterparty_id, item_code, item_quantity, item_unit_price, currency_id, agreed_delivery_date::date,
                     agreed_payment_date::date, agreed_delivery_location_id)::text AS r FROM purchase_order ORDER BY purchase_order_id`,
    latest: `SELECT (purchase_order_id, created_date, created_time, last_updated_date, last_updated_time, staff_id,
                     counterparty_id, item_code, item_quantity, item_unit_price, currency_id, agreed_delivery_date,
                     agreed_payment_date, agreed_delivery_location_id)::text AS r
               FROM (SELECT DISTINCT ON (purchase_order_id) * FROM fact_purchase_order ORDER BY purchase_order_id, last_updated_date DESC, last_updated_time DESC, purchase_record_id DESC) t
              ORDER BY purchase_order_id`,
  },
  fact_payment: {
    source: `SELECT (payment_id, created_at::date, created_at::time, last_updated::date, last_updated::time, transaction_id,
                     counterparty_id, payment_amount, currency_id, payment_type_id, paid, payment_date::date)::text AS r
               FROM payment ORDER BY payment_id`,
    latest: `SELECT (payment_id, created_date, created_time, last_updated_date, last_updated_time, transaction_id,
                     counterparty_id, payment_amount, currency_id, payment_type_id, paid, payment_date)::text AS r
               FROM (SELECT DISTINCT ON (payment_id) * FROM fact_payment ORDER BY payment_id, last_updated_date DESC, last_updated_time DESC, payment_record_id DESC) t
              ORDER BY payment_id`,
  },
} as const

export async function texts(query: Pipeline['source'], sql: string): Promise<string[]> {
  return (await query<{ r: string }>(sql)).map((row) => row.r)
}

export async function assertWarehouseMatchesSource(pipeline: Pipeline): Promise<void> {
  for (const [table, sql] of Object.entries(DIMENSIONS)) {
    const expected = await texts(pipeline.source, sql.source)
    assert.ok(expected.length > 0, `${table}: the source has rows`)
    assert.deepEqual(await texts(pipeline.warehouse, sql.warehouse), expected, `${table} equals its source rows`)
  }
  for (const [table, sql] of Object.entries(FACTS)) {
    const expected = await texts(pipeline.source, sql.source)
    assert.ok(expected.length > 0, `${table}: the source has rows`)
    assert.deepEqual(await texts(pipeline.warehouse, sql.latest), expected, `${table}: latest versions equal the source rows`)
  }
}


/** Rows the warehouse lacks (`lost`) or holds too often (`doubled`) compared with the source. */
export interface RowDifference {
  readonly lost: number
  readonly doubled: number
}

/** Counts, per multiset of row texts, what `actual` lacks and what it holds beyond `expected`. */
function difference(expected: readonly string[], actual: readonly string[]): RowDifference {
  const counts = new Map<string, number>()
  for (const row of expected) counts.set(row, (counts.get(row) ?? 0) + 1)
  let doubled = 0
  for (const row of actual) {
    const left = counts.get(row) ?? 0
    if (left > 0) counts.set(row, left - 1)
    else doubled += 1
  }
  let lost = 0
  for (const left of counts.values()) lost += left
  return { lost, doubled }
}

/**
 * The warehouse against the source as numbers, for reports: rows missing or
 * extra in each dimension and in each fact's latest versions, plus fact
 * versions held twice (one source row at one `last_updated` is one version).
 */
export async function countAgainstSource(pipeline: Pipeline): Promise<RowDifference> {
  let lost = 0
  let doubled = 0
  const pairs = [
    ...Object.values(DIMENSIONS).map((sql) => [sql.source, sql.warehouse] as const),
    ...Object.values(FACTS).map((sql) => [sql.source, sql.latest] as const),
  ]
  for (const [source, warehouse] of pairs) {
    const found = difference(await texts(pipeline.source, source), await texts(pipeline.warehouse, warehouse))
    lost += found.lost
    doubled += found.doubled
  }
  for (const [fact, id] of [['fact_sales_order', 'sales_order_id'], ['fact_purchase_order', 'purchase_order_id'], ['fact_payment', 'payment_id']] as const) {
    const [row] = await pipeline.warehouse<{ n: number }>(
      `SELECT coalesce(sum(n - 1), 0)::int AS n FROM (SELECT count(*) AS n FROM ${fact} GROUP BY ${id}, last_updated_date, last_updated_time) v`,
    )
    doubled += row?.n ?? 0
  }
  return { lost, doubled }
}
