/**
 * Advances a ToteSys source in time, the way the live application would:
 * new orders with their transactions and payments on weekdays, payments paid
 * on their payment date, now and then a new design, and silent edits of
 * design rows (file_location changes, last_updated does not), which a
 * last_updated watermark alone cannot see.
 *
 * The simulated clock starts at the newest last_updated in the source and
 * moves a whole UTC day at a time; every timestamp written is later than
 * that starting clock. Everything happens in one transaction, with ordinary
 * INSERT and UPDATE statements and bound values.
 */
import type { ClientBase } from 'pg'
import { quoteIdent } from '../../sql/quote.js'
import { StarlineError } from '../../core/starline-error.js'
import { wrapSourceError } from './generator.js'
import {
  DAY_MS,
  DesignCatalog,
  formatCents,
  formatTimestamp,
  isoDate,
  isWeekday,
  PAID_SHARE,
  paymentMoment,
  planDayOrders,
  randomBusinessTime,
  SCALE_1_RATES,
  startOfDay,
} from './order-plan.js'
import type { OrderChoices, OrderRates, PlannedOrder } from './order-plan.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { createRandom, deriveSeed } from './random.js'
import type { SeededRandom } from './random.js'
import { drawDesign, drawOtherFileLocation } from './reference-data.js'
import { TOTESYS_TABLES } from './source-tables.js'

export interface SimulateOptions {
  /** Whole days to advance, default 1. The simulated clock starts at the newest last_updated in the source. */
  readonly days?: number
  /** Default 1. The same seed and the same starting state give the same changes. */
  readonly seed?: number
  /** Chance per simulated day of one silent edit of a design row (file_location changes, last_updated does NOT). Default 0.5. */
  readonly silentEditChance?: number
}

export interface SimulateSummary {
  /** The starting clock: the newest last_updated before the run. */
  readonly from: Date
  /** The end of the last simulated day (exclusive). */
  readonly to: Date
  readonly salesOrders: number
  readonly purchaseOrders: number
  readonly transactions: number
  readonly payments: number
  /** Payments flipped to paid. */
  readonly paymentsPaid: number
  readonly newDesigns: number
  /** Design ids edited silently, in edit order (an id may repeat). */
  readonly silentDesignEdits: readonly number[]
}

export class InvalidSimulateOptionsError extends StarlineError {}
export class TotesysSourceNotFoundError extends StarlineError {}

const MAX_DAYS = 3650
/** About one new design every ten days, as in the profiled history. */
const NEW_DESIGN_CHANCE = 0.1

export async function simulateActivity(client: ClientBase, options: SimulateOptions = {}): Promise<SimulateSummary> {
  const settings = resolveOptions(options)
  try {
    return await inTransaction(client, async () => {
      const clock = await sourceClock(client)
      const source = await loadSource(client)
      const random = createRandom(deriveSeed(settings.seed, 'simulate', clock))
      const counts = newCounts()
      const firstDay = startOfDay(clock) + DAY_MS // days strictly after the clock's day: all later than the clock
      for (let day = firstDay; day < firstDay + settings.days * DAY_MS; day += DAY_MS) {
        await simulateDay(client, { random, day, source, silentEditChance: settings.silentEditChance, counts })
      }
      if (counts.salesOrders + counts.purchaseOrders + counts.paymentsPaid + counts.newDesigns === 0) {
        // Nothing moved the clock (a quiet weekend at a small scale): without this, the next run
        // would start from the same clock with the same seed and do nothing again, forever.
        await addDesign(client, random, firstDay + (settings.days - 1) * DAY_MS, source, counts)
      }
      return { from: new Date(clock), to: new Date(firstDay + settings.days * DAY_MS), ...counts }
    })
  } catch (error) {
    throw wrapSourceError(error, 'Simulating ToteSys activity')
  }
}

interface Settings {
  readonly days: number
  readonly seed: number
  readonly silentEditChance: number
}

function resolveOptions(options: SimulateOptions): Settings {
  const { days = 1, seed = 1, silentEditChance = 0.5 } = options
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new InvalidSimulateOptionsError(`Cannot simulate ${String(days)} days: days must be a whole number from 1 to ${MAX_DAYS}.`)
  }
  if (!Number.isFinite(seed)) {
    throw new InvalidSimulateOptionsError(`Cannot simulate with seed ${String(seed)}: use a finite number.`)
  }
  if (!(silentEditChance >= 0 && silentEditChance <= 1)) {
    throw new InvalidSimulateOptionsError(
      `Cannot simulate with silentEditChance ${String(silentEditChance)}: use a probability from 0 to 1.`,
    )
  }
  return { days, seed, silentEditChance }
}

type Counts = { -readonly [K in Exclude<keyof SimulateSummary, 'from' | 'to' | 'silentDesignEdits'>]: number } & {
  readonly silentDesignEdits: number[]
}

function newCounts(): Counts {
  return { salesOrders: 0, purchaseOrders: 0, transactions: 0, payments: 0, paymentsPaid: 0, newDesigns: 0, silentDesignEdits: [] }
}

// ---------------------------------------------------------------- reading the source

/** Epoch ms of a naive timestamp, read as UTC wall-clock whatever the session time zone. */
const EPOCH_MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`

async function sourceClock(client: ClientBase): Promise<number> {
  const perTable = TOTESYS_TABLES.map((table) => `SELECT max(last_updated) AS newest FROM ${quoteIdent(table)}`)
  let newest: number | null | undefined
  try {
    const result = await client.query<{ ms: number | null }>(
      `SELECT ${EPOCH_MS('max(newest)')} AS ms FROM (${perTable.join(' UNION ALL ')}) AS tables`,
    )
    newest = result.rows[0]?.ms
  } catch (error) {
    if ((error as { code?: unknown }).code !== '42P01') throw error
    throw new TotesysSourceNotFoundError(
      'Cannot simulate ToteSys activity: this database has no ToteSys tables (current schema). Run generate first, or point at the source database.',
      { cause: error },
    )
  }
  if (newest === null || newest === undefined) {
    throw new TotesysSourceNotFoundError('Cannot simulate ToteSys activity: the ToteSys tables are empty. Run generate first.')
  }
  return newest
}

interface Source {
  readonly choices: OrderChoices
  readonly rates: OrderRates
  readonly paymentTypeIds: { readonly sale: number; readonly purchase: number }
}

async function loadSource(client: ClientBase): Promise<Source> {
  const ids = async (table: string) => {
    const key = quoteIdent(`${table}_id`)
    const result = await client.query<{ id: number }>(`SELECT ${key} AS id FROM ${quoteIdent(table)} ORDER BY ${key}`)
    if (result.rows.length === 0) {
      throw new TotesysSourceNotFoundError(`Cannot simulate ToteSys activity: table "${table}" is empty. Run generate first.`)
    }
    return result.rows.map((row) => row.id)
  }
  const designs = new DesignCatalog()
  const designRows = await client.query<{ id: number; created: number }>(
    `SELECT design_id AS id, ${EPOCH_MS('created_at')} AS created FROM design ORDER BY created_at, design_id`,
  )
  for (const row of designRows.rows) designs.add(row.id, row.created)
  return {
    choices: {
      staffIds: await ids('staff'),
      counterpartyIds: await ids('counterparty'),
      currencyIds: await ids('currency'),
      addressIds: await ids('address'),
      designs,
    },
    rates: {
      salesPerWeekday: await ordersPerWeekday(client, 'sales_order', SCALE_1_RATES.salesPerWeekday),
      purchasesPerWeekday: await ordersPerWeekday(client, 'purchase_order', SCALE_1_RATES.purchasesPerWeekday),
    },
    paymentTypeIds: {
      sale: await paymentTypeId(client, 'SALES_RECEIPT'),
      purchase: await paymentTypeId(client, 'PURCHASE_PAYMENT'),
    },
  }
}

/** The source's own pace, so a source generated at scale 10 keeps trading at scale 10. */
async function ordersPerWeekday(client: ClientBase, table: string, fallback: number): Promise<number> {
  const result = await client.query<{ orders: number; first: number | null; last: number | null }>(
    `SELECT count(*)::int AS orders, ${EPOCH_MS('min(created_at)')} AS first, ${EPOCH_MS('max(created_at)')} AS last
       FROM ${quoteIdent(table)}`,
  )
  const row = result.rows[0]
  if (!row || row.orders === 0 || row.first === null || row.last === null) return fallback
  let weekdays = 0
  for (let day = startOfDay(row.first); day <= row.last; day += DAY_MS) if (isWeekday(day)) weekdays++
  return row.orders / Math.max(weekdays, 1)
}

async function paymentTypeId(client: ClientBase, name: string): Promise<number> {
  const result = await client.query<{ id: number }>(
    'SELECT payment_type_id AS id FROM payment_type WHERE payment_type_name::text = $1 ORDER BY payment_type_id LIMIT 1',
    [name],
  )
  const id = result.rows[0]?.id
  if (id === undefined) {
    throw new TotesysSourceNotFoundError(`Cannot simulate ToteSys activity: payment_type has no "${name}" row. Regenerate the source.`)
  }
  return id
}

// ---------------------------------------------------------------- one day

interface DayContext {
  readonly random: SeededRandom
  /** Start of the simulated UTC day. */
  readonly day: number
  readonly source: Source
  readonly silentEditChance: number
  readonly counts: Counts
}

async function simulateDay(client: ClientBase, context: DayContext): Promise<void> {
  const { random, day, source, counts } = context
  // Designs first, so the day's orders may already use a design created that morning.
  if (random.chance(NEW_DESIGN_CHANCE)) await addDesign(client, random, day, source, counts)
  for (const order of planDayOrders(random, day, source.rates, source.choices)) {
    await insertOrder(client, order, source, counts)
  }
  await payDuePayments(client, random, day, counts)
  if (random.chance(context.silentEditChance)) await editDesignSilently(client, random, source, counts)
}

async function addDesign(client: ClientBase, random: SeededRandom, day: number, source: Source, counts: Counts): Promise<void> {
  const createdAt = day + randomBusinessTime(random)
  const stamp = formatTimestamp(createdAt)
  const design = drawDesign(random, isoDate(day))
  const result = await client.query<{ id: number }>(
    `INSERT INTO design (design_name, file_location, file_name, created_at, last_updated)
     VALUES ($1, $2, $3, $4, $4) RETURNING design_id AS id`,
    [design.designName, design.fileLocation, design.fileName, stamp],
  )
  source.choices.designs.add(result.rows[0]?.id as number, createdAt)
  counts.newDesigns++
}

async function insertOrder(client: ClientBase, order: PlannedOrder, source: Source, counts: Counts): Promise<void> {
  const stamp = formatTimestamp(order.createdAt)
  const price = formatCents(order.unitPriceCents)
  const orderId =
    order.kind === 'sale'
      ? await insertReturningId(
          client,
          `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
             agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING sales_order_id AS id`,
          [order.designId, order.staffId, order.counterpartyId, order.quantity, price, order.currencyId,
            order.agreedDeliveryDate, order.agreedPaymentDate, order.deliveryLocationId, stamp],
        )
      : await insertReturningId(
          client,
          `INSERT INTO purchase_order (staff_id, counterparty_id, item_code, item_quantity, item_unit_price, currency_id,
             agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING purchase_order_id AS id`,
          [order.staffId, order.counterpartyId, order.itemCode, order.quantity, price, order.currencyId,
            order.agreedDeliveryDate, order.agreedPaymentDate, order.deliveryLocationId, stamp],
        )
  const sale = order.kind === 'sale'
  const transactionId = await insertReturningId(
    client,
    `INSERT INTO transaction (transaction_type, sales_order_id, purchase_order_id, created_at, last_updated)
     VALUES ($1, $2, $3, $4, $4) RETURNING transaction_id AS id`,
    [sale ? 'SALE' : 'PURCHASE', sale ? orderId : null, sale ? null : orderId, stamp],
  )
  await client.query(
    `INSERT INTO payment (transaction_id, counterparty_id, payment_amount, currency_id, payment_type_id, paid,
       payment_date, company_ac_number, counterparty_ac_number, created_at, last_updated)
     VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8, $9, $9)`,
    [transactionId, order.counterpartyId, formatCents(order.amountCents), order.currencyId,
      sale ? source.paymentTypeIds.sale : source.paymentTypeIds.purchase,
      order.agreedPaymentDate, order.companyAcNumber, order.counterpartyAcNumber, stamp],
  )
  if (sale) counts.salesOrders++
  else counts.purchaseOrders++
  counts.transactions++
  counts.payments++
}

async function insertReturningId(client: ClientBase, sql: string, values: readonly unknown[]): Promise<number> {
  const result = await client.query<{ id: number }>(sql, [...values])
  return result.rows[0]?.id as number
}

/** Payments due today are paid with the profiled chance; the rest stay unpaid, as in the history. */
async function payDuePayments(client: ClientBase, random: SeededRandom, day: number, counts: Counts): Promise<void> {
  const due = await client.query<{ id: number; created: number }>(
    `SELECT payment_id AS id, ${EPOCH_MS('created_at')} AS created FROM payment
      WHERE NOT paid AND payment_date = $1 ORDER BY payment_id`,
    [isoDate(day)],
  )
  for (const payment of due.rows) {
    if (!random.chance(PAID_SHARE)) continue
    const paidAt = paymentMoment(random, payment.created, day)
    await client.query('UPDATE payment SET paid = true, last_updated = $2 WHERE payment_id = $1', [
      payment.id,
      formatTimestamp(paidAt),
    ])
    counts.paymentsPaid++
  }
}

/** WARNING: deliberately leaves last_updated alone; that is the point of a silent edit. */
async function editDesignSilently(client: ClientBase, random: SeededRandom, source: Source, counts: Counts): Promise<void> {
  const designId = random.pick(source.choices.designs.ids)
  const current = await client.query<{ location: string }>('SELECT file_location AS location FROM design WHERE design_id = $1', [
    designId,
  ])
  const location = drawOtherFileLocation(random, current.rows[0]?.location ?? '')
  await client.query('UPDATE design SET file_location = $2 WHERE design_id = $1', [designId, location])
  counts.silentDesignEdits.push(designId)
}
