/**
 * What one ToteSys trading day looks like: the orders placed, each with the
 * fields of its order row, its transaction and its payment. The generator
 * replays it over two years of history; the simulator plays it one day at a
 * time into a live source. Times are epoch milliseconds read as naive UTC
 * wall-clock; money is integer cents, formatted as exact decimals.
 */
import type { SeededRandom } from './random.js'

export const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000

/**
 * Orders arrive between 08:00 and 19:00. The last second stays free so that
 * rounding a time up to a whole second never leaves business hours.
 */
export const BUSINESS_HOURS = { openMs: 8 * HOUR_MS, lastMs: 19 * HOUR_MS - 1000 } as const

/** Average orders per weekday at scale 1 (totesys.md: ~22 sales orders a day). */
export const SCALE_1_RATES: OrderRates = { salesPerWeekday: 21.6, purchasesPerWeekday: 8.95 }

/** Share of payments that get paid on their payment date. */
export const PAID_SHARE = 0.6

/** Some timestamps land on a whole second (.000), which some tools print without a fraction. */
const WHOLE_SECOND_CHANCE = 0.004
/** Share of orders whose agreed delivery is far off (8 days to a year). */
const LATE_DELIVERY_CHANCE = 0.01

export interface OrderRates {
  readonly salesPerWeekday: number
  readonly purchasesPerWeekday: number
}

export type OrderKind = 'sale' | 'purchase'

export interface PlannedOrder {
  readonly kind: OrderKind
  /** Shared by the order, its transaction and its payment. */
  readonly createdAt: number
  /** 0 for purchases. */
  readonly designId: number
  /** '' for sales. */
  readonly itemCode: string
  readonly staffId: number
  readonly counterpartyId: number
  readonly currencyId: number
  readonly deliveryLocationId: number
  /** units_sold or item_quantity. */
  readonly quantity: number
  readonly unitPriceCents: number
  /** quantity x unit price, exact. */
  readonly amountCents: number
  readonly agreedDeliveryDate: string
  /** Also the payment_date. */
  readonly agreedPaymentDate: string
  readonly companyAcNumber: number
  readonly counterpartyAcNumber: number
  /** When the payment gets paid, or undefined if it never is. */
  readonly paidAt: number | undefined
}

/** The rows an order may reference. */
export interface OrderChoices {
  readonly staffIds: readonly number[]
  readonly counterpartyIds: readonly number[]
  readonly currencyIds: readonly number[]
  readonly addressIds: readonly number[]
  readonly designs: DesignCatalog
}

/** Design ids by creation time, so an order only references a design that already existed. */
export class DesignCatalog {
  readonly #ids: number[] = []
  readonly #createdAt: number[] = []

  /** Keeps creation order; designs usually arrive in it, so this is an append. */
  add(id: number, createdAt: number): void {
    const at = this.#countCreatedBefore(createdAt + 1)
    this.#ids.splice(at, 0, id)
    this.#createdAt.splice(at, 0, createdAt)
  }

  get ids(): readonly number[] {
    return this.#ids
  }

  /** A design created strictly before `at`, uniformly. */
  pickCreatedBefore(random: SeededRandom, at: number): number {
    const count = this.#countCreatedBefore(at)
    if (count === 0) throw new RangeError(`No design was created before ${new Date(at).toISOString()}.`)
    return this.#ids[Math.floor(random.next() * count)] as number
  }

  #countCreatedBefore(at: number): number {
    let low = 0
    let high = this.#createdAt.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((this.#createdAt[middle] as number) < at) low = middle + 1
      else high = middle
    }
    return low
  }
}

/** The orders of the day starting at `dayStart`, sorted by created_at; none at weekends. */
export function planDayOrders(random: SeededRandom, dayStart: number, rates: OrderRates, choices: OrderChoices): PlannedOrder[] {
  if (!isWeekday(dayStart)) return []
  const arrivals: { kind: OrderKind; at: number }[] = []
  const sales = dailyCount(random, rates.salesPerWeekday)
  const purchases = dailyCount(random, rates.purchasesPerWeekday)
  for (let i = 0; i < sales; i++) arrivals.push({ kind: 'sale', at: dayStart + randomBusinessTime(random) })
  for (let i = 0; i < purchases; i++) arrivals.push({ kind: 'purchase', at: dayStart + randomBusinessTime(random) })
  arrivals.sort((a, b) => a.at - b.at) // stable: equal times keep their order
  return arrivals.map(({ kind, at }) => planOrder(random, kind, at, choices))
}

/** Busy and quiet days around the mean. */
function dailyCount(random: SeededRandom, mean: number): number {
  return random.roundStochastic(mean * (0.6 + 0.8 * random.next()))
}

function planOrder(random: SeededRandom, kind: OrderKind, createdAt: number, choices: OrderChoices): PlannedOrder {
  const sale = kind === 'sale'
  const createdDay = startOfDay(createdAt)
  const designId = sale ? choices.designs.pickCreatedBefore(random, createdAt) : 0
  const itemCode = sale ? '' : drawItemCode(random)
  const quantity = sale ? random.int(1_000, 100_000) : random.int(1, 999)
  const unitPriceCents = sale ? random.int(200, 400) : logUniformInt(random, 300, 100_000)
  const deliveryDays = random.chance(LATE_DELIVERY_CHANCE) ? random.int(8, 365) : random.int(0, 7)
  const paymentDay = createdDay + random.int(0, 6) * DAY_MS
  return {
    kind,
    createdAt,
    designId,
    itemCode,
    staffId: random.pick(choices.staffIds),
    counterpartyId: random.pick(choices.counterpartyIds),
    currencyId: random.pick(choices.currencyIds),
    deliveryLocationId: random.pick(choices.addressIds),
    quantity,
    unitPriceCents,
    amountCents: quantity * unitPriceCents, // at most 99,900,000 cents: exact in a double and in numeric(10,2)
    agreedDeliveryDate: isoDate(createdDay + deliveryDays * DAY_MS),
    agreedPaymentDate: isoDate(paymentDay),
    companyAcNumber: random.int(10_000_000, 99_999_999),
    counterpartyAcNumber: random.int(10_000_000, 99_999_999),
    paidAt: random.chance(PAID_SHARE) ? paymentMoment(random, createdAt, paymentDay) : undefined,
  }
}

/** A business-hours moment on `paymentDay`, strictly after `createdAt`. */
export function paymentMoment(random: SeededRandom, createdAt: number, paymentDay: number): number {
  const earliest = Math.max(paymentDay + BUSINESS_HOURS.openMs, createdAt + 1)
  const latest = paymentDay + BUSINESS_HOURS.lastMs
  return sometimesWholeSecond(random, earliest >= latest ? earliest : random.int(earliest, latest))
}

/** Milliseconds after midnight within business hours. */
export function randomBusinessTime(random: SeededRandom): number {
  return sometimesWholeSecond(random, random.int(BUSINESS_HOURS.openMs, BUSINESS_HOURS.lastMs))
}

/** Rounds up, never down, so a time stays after whatever it must follow. */
function sometimesWholeSecond(random: SeededRandom, ms: number): number {
  return random.chance(WHOLE_SECOND_CHANCE) ? Math.ceil(ms / 1000) * 1000 : ms
}

/** Item prices span cheap parts to costly machines: spread evenly over orders of magnitude. */
function logUniformInt(random: SeededRandom, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + random.next() * (Math.log(max) - Math.log(min))))
}

const ITEM_CODE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

function drawItemCode(random: SeededRandom): string {
  let code = ''
  for (let i = 0; i < 7; i++) code += ITEM_CODE_CHARS[random.int(0, ITEM_CODE_CHARS.length - 1)]
  return code
}

// ---------------------------------------------------------------- time and money formats

export function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS
}

export function isWeekday(ms: number): boolean {
  const day = new Date(ms).getUTCDay()
  return day !== 0 && day !== 6
}

// Keyed by day number (a small integer) rather than epoch ms: a measurably faster Map key.
const isoDates = new Map<number, string>()

/** 'YYYY-MM-DD' of the UTC day holding `ms` (cached: a few thousand distinct days at most). */
export function isoDate(ms: number): string {
  const dayNumber = Math.floor(ms / DAY_MS)
  let text = isoDates.get(dayNumber)
  if (text === undefined) {
    if (isoDates.size > 50_000) isoDates.clear()
    text = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
    isoDates.set(dayNumber, text)
  }
  return text
}

/** 'YYYY-MM-DD HH:MM:SS.mmm', the naive timestamp PostgreSQL reads back unchanged. */
export function formatTimestamp(ms: number): string {
  const day = startOfDay(ms)
  let rest = ms - day
  const hours = Math.floor(rest / HOUR_MS)
  rest -= hours * HOUR_MS
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  const millis = rest - seconds * 1000
  return `${isoDate(day)} ${PADDED[hours]}:${PADDED[minutes]}:${PADDED[seconds]}.${PADDED_3[millis]}`
}

/** Integer cents to an exact decimal string: 123456 -> '1234.56'. */
export function formatCents(cents: number): string {
  const whole = Math.floor(cents / 100)
  return `${whole}.${PADDED[cents - whole * 100]}`
}

// Lookup tables: formatting is the generator's hot path, and padStart showed up in profiles.
const PADDED = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'))
const PADDED_3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
