/**
 * Generates a deterministic ToteSys source database: about two years of
 * weekday trading ending just before `until`, shaped like the profile in
 * totesys.md, and loaded with COPY FROM STDIN in one transaction.
 *
 * Orders, transactions and payments are planned day by day from a random
 * source seeded by (seed, day), so each of the four big tables is loaded by
 * replaying the same plan and keeping only its own rows: memory stays flat at
 * any scale, and no table has to be held while another is being copied.
 */
import { readFile } from 'node:fs/promises'
import type { ClientBase } from 'pg'
import { isRetryablePostgresError, sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { createRandom, deriveSeed } from './random.js'
import { buildReferenceTables, drawDesign, PAYMENT_TYPE_NAMES, REFERENCE_ROW_COUNTS } from './reference-data.js'
import type { PaymentTypeName } from './reference-data.js'
import { copyRows, csvLine } from './copy-rows.js'
import { TOTESYS_TABLES } from './source-tables.js'
import {
  DAY_MS,
  DesignCatalog,
  formatCents,
  formatTimestamp,
  isWeekday,
  planDayOrders,
  randomBusinessTime,
  SCALE_1_RATES,
  startOfDay,
} from './order-plan.js'
import type { OrderChoices, OrderRates, PlannedOrder } from './order-plan.js'

export interface GenerateOptions {
  /**
   * 1 = the real database's size and shape (totesys.md); N multiplies order
   * volume, designs, transactions and payments by N. Reference tables stay
   * fixed. Fractions such as 0.1 make fast tests.
   */
  readonly scale: number
  /** History ends just before this instant (naive timestamps, UTC wall-clock). Default: start of the current UTC day minus 7 days. */
  readonly until?: Date
  /** Default 1. Same scale + until + seed => byte-identical data. */
  readonly seed?: number
}

export interface GenerateSummary {
  /** Rows loaded per table. */
  readonly rows: Readonly<Record<string, number>>
  /** The earliest created_at (when the reference tables were created). */
  readonly from: Date
  readonly until: Date
}

export class TotesysSchemaExistsError extends StarlineError {}
export class InvalidGenerateOptionsError extends StarlineError {}
/** A database error while generating or simulating, wrapped once. */
export class TotesysSourceError extends StarlineError {}

const HISTORY_DAYS = 728 // 104 weeks: 520 weekdays, ~11,200 sales orders at scale 1
const DESIGNS_AT_SCALE_1 = 470
/** Share of designs that exist before the first order, so every order has one to reference. */
const INITIAL_DESIGN_SHARE = 0.1
const MAX_SCALE = 10_000 // keeps every id inside int4
const PAYMENT_TYPE_IDS = Object.fromEntries(PAYMENT_TYPE_NAMES.map((name, i) => [name, i + 1])) as Record<
  PaymentTypeName,
  number
>
const TIMESTAMPS = ['created_at', 'last_updated'] as const

/** Creates the ToteSys schema behind `client` and fills it; refuses if ToteSys tables exist unless `replace`. */
export async function generateTotesys(
  client: ClientBase,
  options: GenerateOptions & { readonly replace?: boolean },
): Promise<GenerateSummary> {
  const history = planHistory(options)
  try {
    return await inTransaction(client, async () => {
      await prepareSchema(client, options.replace ?? false)
      const constraints = await dropConstraints(client)
      const rows = await loadHistory(client, history)
      await restoreConstraints(client, constraints)
      await resetSequences(client)
      return { rows, from: new Date(history.referenceAt), until: new Date(history.untilMs) }
    })
  } catch (error) {
    throw wrapSourceError(error, 'Generating the ToteSys source')
  }
}

interface History {
  readonly seed: number
  readonly untilMs: number
  readonly firstDay: number
  readonly lastDay: number
  /** When the reference tables and the first designs were created. */
  readonly referenceAt: number
  readonly rates: OrderRates
  readonly designCount: number
}

function planHistory(options: GenerateOptions): History {
  const { scale } = options
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0 || scale > MAX_SCALE) {
    throw new InvalidGenerateOptionsError(
      `Cannot generate ToteSys data at scale ${String(scale)}: scale must be a number above 0 and at most ${MAX_SCALE} (1 = the real database's size).`,
    )
  }
  const seed = options.seed ?? 1
  if (!Number.isFinite(seed)) {
    throw new InvalidGenerateOptionsError(`Cannot generate ToteSys data with seed ${String(seed)}: use a finite number.`)
  }
  const untilMs = (options.until ?? new Date(startOfDay(Date.now()) - 7 * DAY_MS)).getTime()
  if (Number.isNaN(untilMs)) {
    throw new InvalidGenerateOptionsError('Cannot generate ToteSys data until an invalid date: pass a valid Date as until.')
  }
  const lastDay = startOfDay(untilMs - 1)
  const firstDay = lastDay - (HISTORY_DAYS - 1) * DAY_MS
  const referenceRandom = createRandom(deriveSeed(seed, 'reference-time'))
  return {
    seed,
    untilMs,
    firstDay,
    lastDay,
    referenceAt: firstDay + referenceRandom.int(7 * 3_600_000, 8 * 3_600_000 - 1),
    // A floor keeps tiny scales at a handful of orders rather than none.
    rates: {
      salesPerWeekday: Math.max(SCALE_1_RATES.salesPerWeekday * scale, 0.02),
      purchasesPerWeekday: Math.max(SCALE_1_RATES.purchasesPerWeekday * scale, 0.01),
    },
    designCount: Math.max(3, Math.round(DESIGNS_AT_SCALE_1 * scale)),
  }
}

// ---------------------------------------------------------------- schema

let schemaSql: Promise<string> | undefined

async function prepareSchema(client: ClientBase, replace: boolean): Promise<void> {
  const existing = await existingTotesysObjects(client)
  if (existing.length > 0 && !replace) {
    const schema = await client.query<{ schema: string }>('SELECT current_schema() AS schema')
    throw new TotesysSchemaExistsError(
      `Cannot generate ToteSys data: ${existing.map((name) => `"${name}"`).join(', ')} already exist in schema "${schema.rows[0]?.schema}". ` +
        'Pass replace: true to drop and recreate the ToteSys tables, or generate into an empty database.',
      { context: { existing: existing.join(',') } },
    )
  }
  if (existing.length > 0) await dropTotesysObjects(client)
  schemaSql ??= readFile(new URL('./source-schema.sql', import.meta.url), 'utf8')
  await client.query(await schemaSql)
}

const ENUM_TYPES = ['PaymentTypeName', 'TransactionType'] as const

async function existingTotesysObjects(client: ClientBase): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_name = ANY($1)
     UNION ALL
     SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema() AND t.typname = ANY($2)
     ORDER BY 1`,
    [[...TOTESYS_TABLES], [...ENUM_TYPES]],
  )
  return result.rows.map((row) => row.name)
}

async function dropTotesysObjects(client: ClientBase): Promise<void> {
  // One statement for all tables handles their foreign keys among themselves; no CASCADE,
  // so a foreign object depending on them (a view, say) stops the replace instead of vanishing.
  await client.query(`DROP TABLE IF EXISTS ${quoteIdentList([...TOTESYS_TABLES].reverse())}`)
  await client.query(`DROP TYPE IF EXISTS ${quoteIdentList(ENUM_TYPES)}`)
}

interface Constraint {
  readonly table: string
  readonly name: string
  readonly definition: string
}

/**
 * Checking foreign keys row by row made the load ~5x slower, and keeping key
 * and unique indexes up to date row by row cost more again (measured at scale
 * 10). The constraints are dropped for the load and added back after it:
 * each index is then built once by sorting and each foreign key checked once,
 * in bulk. Foreign keys go first and come back last, as they need the keys.
 */
async function dropConstraints(client: ClientBase): Promise<Constraint[]> {
  const result = await client.query<Constraint>(
    `SELECT cl.relname AS table, co.conname AS name, pg_get_constraintdef(co.oid) AS definition
       FROM pg_constraint co
       JOIN pg_class cl ON cl.oid = co.conrelid
       JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE co.contype IN ('f', 'p', 'u') AND n.nspname = current_schema() AND cl.relname = ANY($1)
      ORDER BY co.contype = 'f' DESC, cl.relname, co.conname`,
    [[...TOTESYS_TABLES]],
  )
  for (const constraint of result.rows) {
    await client.query(`ALTER TABLE ${quoteIdent(constraint.table)} DROP CONSTRAINT ${quoteIdent(constraint.name)}`)
  }
  return result.rows
}

async function restoreConstraints(client: ClientBase, constraints: readonly Constraint[]): Promise<void> {
  for (const constraint of [...constraints].reverse()) {
    // The definition is PostgreSQL's own rendering of the constraint just dropped, not outside input.
    await client.query(
      `ALTER TABLE ${quoteIdent(constraint.table)} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition}`,
    )
  }
}

async function resetSequences(client: ClientBase): Promise<void> {
  for (const table of TOTESYS_TABLES) {
    const key = quoteIdent(`${table}_id`)
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max(${key}), 0) + 1, false) FROM ${quoteIdent(table)}`,
      [table, `${table}_id`],
    )
  }
}

// ---------------------------------------------------------------- loading

async function loadHistory(client: ClientBase, history: History): Promise<Record<string, number>> {
  const rows: Record<string, number> = {}
  const reference = buildReferenceTables(createRandom(deriveSeed(history.seed, 'reference')))
  const stamp = formatTimestamp(history.referenceAt)
  for (const table of reference) {
    const lines = table.rows.map((row, i) => csvLine([i + 1, ...row, stamp, stamp]))
    rows[table.name] = await copyRows(client, table.name, [`${table.name}_id`, ...table.columns, ...TIMESTAMPS], lines)
  }
  const designTimes = planDesignTimes(history)
  rows.design = await copyRows(client, 'design', DESIGN_COLUMNS, designLines(history, designTimes))
  const choices = referenceChoices(designTimes)
  for (const table of ORDER_TABLES) {
    rows[table.name] = await copyRows(client, table.name, table.columns, orderTableLines(history, choices, table.line))
  }
  return rows
}

// ---------------------------------------------------------------- designs

const DESIGN_COLUMNS = ['design_id', 'design_name', 'file_location', 'file_name', ...TIMESTAMPS] as const

/** Sorted created_at of every design: a share exists from the start, the rest appear on weekdays over the span. */
function planDesignTimes(history: History): number[] {
  const random = createRandom(deriveSeed(history.seed, 'design-times'))
  const initial = Math.max(1, Math.round(history.designCount * INITIAL_DESIGN_SHARE))
  const times: number[] = Array.from({ length: initial }, () => history.referenceAt)
  const weekdays: number[] = []
  for (let day = history.firstDay; day <= history.lastDay; day += DAY_MS) if (isWeekday(day)) weekdays.push(day)
  while (times.length < history.designCount) {
    const at = random.pick(weekdays) + randomBusinessTime(random)
    if (at < history.untilMs && at > history.referenceAt) times.push(at)
  }
  return times.sort((a, b) => a - b)
}

function* designLines(history: History, times: readonly number[]): Generator<string> {
  const random = createRandom(deriveSeed(history.seed, 'design-fields'))
  for (const [i, at] of times.entries()) {
    const stamp = formatTimestamp(at)
    const design = drawDesign(random, stamp.slice(0, 10))
    yield csvLine([i + 1, design.designName, design.fileLocation, design.fileName, stamp, stamp])
  }
}

function referenceChoices(designTimes: readonly number[]): OrderChoices {
  const ids = (count: number) => Array.from({ length: count }, (_, i) => i + 1)
  const designs = new DesignCatalog()
  for (const [i, at] of designTimes.entries()) designs.add(i + 1, at)
  return {
    staffIds: ids(REFERENCE_ROW_COUNTS.staff),
    counterpartyIds: ids(REFERENCE_ROW_COUNTS.counterparty),
    currencyIds: ids(REFERENCE_ROW_COUNTS.currency),
    addressIds: ids(REFERENCE_ROW_COUNTS.address),
    designs,
  }
}

// ---------------------------------------------------------------- orders, transactions, payments

interface NumberedOrder {
  readonly order: PlannedOrder
  /** sales_order_id or purchase_order_id. */
  readonly orderId: number
  /** Also the payment_id: one payment per transaction, created in the same order. */
  readonly transactionId: number
}

type OrderLine = (numbered: NumberedOrder, untilMs: number) => string | undefined

/** Replays the day-by-day plan; ids follow creation order, as the sequences would have given them. */
function* orderHistory(history: History, choices: OrderChoices): Generator<NumberedOrder> {
  let sales = 0
  let purchases = 0
  let transactions = 0
  for (let day = history.firstDay; day <= history.lastDay; day += DAY_MS) {
    const random = createRandom(deriveSeed(history.seed, 'orders', day))
    for (const order of planDayOrders(random, day, history.rates, choices)) {
      if (order.createdAt >= history.untilMs) break // orders are sorted by time
      const orderId = order.kind === 'sale' ? ++sales : ++purchases
      yield { order, orderId, transactionId: ++transactions }
    }
  }
}

function* orderTableLines(history: History, choices: OrderChoices, line: OrderLine): Generator<string> {
  for (const numbered of orderHistory(history, choices)) {
    const text = line(numbered, history.untilMs)
    if (text !== undefined) yield text
  }
}

// Order rows hold only numbers, dates and [A-Z0-9] codes: no CSV quoting needed, which keeps the hot path fast.
const ORDER_TABLES: readonly { readonly name: string; readonly columns: readonly string[]; readonly line: OrderLine }[] = [
  {
    name: 'sales_order',
    columns: ['sales_order_id', 'design_id', 'staff_id', 'counterparty_id', 'units_sold', 'unit_price', 'currency_id',
      'agreed_delivery_date', 'agreed_payment_date', 'agreed_delivery_location_id', ...TIMESTAMPS],
    line: ({ order: o, orderId }) => {
      if (o.kind !== 'sale') return undefined
      const stamp = formatTimestamp(o.createdAt)
      return `${orderId},${o.designId},${o.staffId},${o.counterpartyId},${o.quantity},${formatCents(o.unitPriceCents)},${o.currencyId},${o.agreedDeliveryDate},${o.agreedPaymentDate},${o.deliveryLocationId},${stamp},${stamp}\n`
    },
  },
  {
    name: 'purchase_order',
    columns: ['purchase_order_id', 'staff_id', 'counterparty_id', 'item_code', 'item_quantity', 'item_unit_price',
      'currency_id', 'agreed_delivery_date', 'agreed_payment_date', 'agreed_delivery_location_id', ...TIMESTAMPS],
    line: ({ order: o, orderId }) => {
      if (o.kind !== 'purchase') return undefined
      const stamp = formatTimestamp(o.createdAt)
      return `${orderId},${o.staffId},${o.counterpartyId},${o.itemCode},${o.quantity},${formatCents(o.unitPriceCents)},${o.currencyId},${o.agreedDeliveryDate},${o.agreedPaymentDate},${o.deliveryLocationId},${stamp},${stamp}\n`
    },
  },
  {
    name: 'transaction',
    columns: ['transaction_id', 'transaction_type', 'sales_order_id', 'purchase_order_id', ...TIMESTAMPS],
    line: ({ order, orderId, transactionId }) => {
      const stamp = formatTimestamp(order.createdAt)
      const ids = order.kind === 'sale' ? `SALE,${orderId},` : `PURCHASE,,${orderId}`
      return `${transactionId},${ids},${stamp},${stamp}\n`
    },
  },
  {
    name: 'payment',
    columns: ['payment_id', 'transaction_id', 'counterparty_id', 'payment_amount', 'currency_id', 'payment_type_id',
      'paid', 'payment_date', 'company_ac_number', 'counterparty_ac_number', ...TIMESTAMPS],
    line: ({ order: o, transactionId }, untilMs) => {
      // Paid only if the moment it would be paid is already history.
      const paid = o.paidAt !== undefined && o.paidAt < untilMs
      const created = formatTimestamp(o.createdAt)
      const updated = paid ? formatTimestamp(o.paidAt as number) : created
      const type = PAYMENT_TYPE_IDS[o.kind === 'sale' ? 'SALES_RECEIPT' : 'PURCHASE_PAYMENT']
      return `${transactionId},${transactionId},${o.counterpartyId},${formatCents(o.amountCents)},${o.currencyId},${type},${paid ? 't' : 'f'},${o.agreedPaymentDate},${o.companyAcNumber},${o.counterpartyAcNumber},${created},${updated}\n`
    },
  },
]

// ---------------------------------------------------------------- errors

/** Keeps StarlineErrors; wraps anything else once, retryable as the shared Postgres classification says. Shared with the simulator. */
export function wrapSourceError(error: unknown, action: string): StarlineError {
  if (error instanceof StarlineError) return error
  const retryable = isRetryablePostgresError(error)
  return new TotesysSourceError(
    `${action} failed and was rolled back: ${messageOf(error)}. ` +
      (retryable ? 'The connection or transaction was interrupted; run it again.' : 'Check the database and the options, then run it again.'),
    { cause: error, retryable, context: { sqlstate: sqlStateOf(error) } },
  )
}
