/**
 * Word lists and row builders for the small ToteSys tables: the reference
 * tables created once (address, counterparty, currency, department, staff,
 * payment_type) and design rows. Everything comes from a `SeededRandom`, so
 * the same seed gives the same rows.
 */
import type { SeededRandom } from './random.js'

export type CellValue = string | number | null

/** One reference table's rows, without the key and the two timestamps the generator adds. */
export interface ReferenceTable {
  readonly name: 'address' | 'counterparty' | 'currency' | 'department' | 'staff' | 'payment_type'
  /** Data columns in DDL order. */
  readonly columns: readonly string[]
  readonly rows: readonly (readonly CellValue[])[]
}

export const REFERENCE_ROW_COUNTS = { address: 30, counterparty: 20, currency: 3, department: 8, staff: 20, payment_type: 4 } as const

export const CURRENCY_CODES = ['GBP', 'USD', 'EUR'] as const
export const PAYMENT_TYPE_NAMES = ['SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND'] as const
export type PaymentTypeName = (typeof PAYMENT_TYPE_NAMES)[number]

// NOTE: the dirty "Leds" and the department without location or manager are
// deliberate (totesys.md): the warehouse must keep the one and placeholder the other.
const DEPARTMENTS: readonly (readonly [name: string, location: string | null, manager: string | null])[] = [
  ['Sales', 'Manchester', 'Richard Roma'],
  ['Purchasing', 'Manchester', 'Naomi Lapaglia'],
  ['Production', 'Leeds', 'Chester Ruiz'],
  ['Dispatch', 'Leds', 'Mark Hanna'],
  ['Finance', 'Manchester', 'Jordan Belfort'],
  ['Facilities', 'Manchester', 'Shelley Levene'],
  ['Communications', 'Leeds', 'Ann Blake'],
  ['Human Resources', null, null],
]

const FIRST_NAMES = [
  'Jeremie', 'Deron', 'Jeanette', 'Ana', 'Magdalena', 'Korey', 'Raphael', 'Oswaldo', 'Brody', 'Jazmyn',
  'Meda', 'Imani', 'Stan', 'Rigoberto', 'Tom', 'Jett', 'Irving', 'Tomasa', 'Pierre', 'Flavio',
  'Siobhan', 'Aoife', 'Nathaniel', 'Priya', 'Olu',
] as const

const LAST_NAMES = [
  'Franey', 'Beier', 'Erdman', 'Glover', 'Ondricka', 'Kuhlman', 'Rippin', 'Bashirian', 'Ratke', 'Parker',
  'Cremin', 'Schmidt', 'Lehner', 'Reichert', 'Lang', 'Parisian', 'Kuvalis', 'Sauer', "O'Keefe", 'Hamill',
  'Zieme', 'Dibbert', 'Runolfsdottir', 'Okuneva', 'Macejkovic',
] as const

const STREET_SUFFIXES = ['Street', 'Road', 'Avenue', 'Lane', 'Via', 'Crescent', 'Way', 'Drive', 'Mews', 'Court'] as const
const LINE_2_PREFIXES = ['Flat', 'Apt.', 'Suite', 'Unit'] as const
const DISTRICTS = [
  'Avon', 'Bedfordshire', 'Buckinghamshire', 'Cambridgeshire', 'Cheshire', 'Cornwall', 'Cumbria', 'Derbyshire',
  'Devon', 'Dorset', 'Essex', 'Kent', 'Lancashire', 'Norfolk', 'Surrey', 'Yorkshire',
] as const
const CITIES = [
  'New Patienceburgh', 'Aliso Viejo', 'Lake Charles', 'Suffolk', 'East Bobbie', 'Olsonside', 'Fort Shadburgh',
  'Kendraburgh', 'North Deshaun', 'Port Alvena', 'Hackensack', 'Pricetown', 'Maggiofurt', 'Sayreville',
  'Utica', 'South Wyatt', 'Lake Arne', 'Rosemouth', 'Manchester', 'Leeds',
] as const
const COUNTRIES = [
  'Turkey', 'San Marino', 'Congo', 'Austria', 'Antigua and Barbuda', 'United Kingdom', 'Germany', 'Sierra Leone',
  'Iceland', 'Pitcairn Islands', 'Guinea-Bissau', 'Cayman Islands', 'Bermuda', 'Ireland', 'Lesotho', 'Tonga',
] as const
const TITLES = ['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Miss'] as const
const COMPANY_SUFFIXES = ['and Sons', 'LLC', 'Inc', 'Group', 'Ltd', 'Partners'] as const

export const DESIGN_NAMES = [
  'Wooden', 'Steel', 'Granite', 'Bronze', 'Soft', 'Frozen', 'Fresh', 'Rubber', 'Concrete', 'Plastic',
  'Cotton', 'Metal', 'Bamboo', 'Marble', 'Golden', 'Silk', 'Linen', 'Recycled', 'Tropical', 'Vintage',
] as const

export const DESIGN_FILE_LOCATIONS = [
  '/usr', '/private', '/System', '/Library', '/opt/include', '/home/user/dir', '/usr/share', '/var/mail',
  '/etc/ppp', '/lost+found', '/srv', '/usr/local/src', '/Network', '/Users', '/boot', '/mnt', '/net',
  '/root', '/tmp', '/opt/lib', '/var/spool', '/usr/ports', '/etc/defaults', '/etc/namedb', '/Applications',
  '/media', '/usr/X11R6', '/var/yp',
] as const

/** All six reference tables, in foreign-key order. */
export function buildReferenceTables(random: SeededRandom): readonly ReferenceTable[] {
  return [
    buildAddresses(random),
    buildCounterparties(random),
    { name: 'currency', columns: ['currency_code'], rows: CURRENCY_CODES.map((code) => [code]) },
    { name: 'department', columns: ['department_name', 'location', 'manager'], rows: DEPARTMENTS },
    buildStaff(random),
    { name: 'payment_type', columns: ['payment_type_name'], rows: PAYMENT_TYPE_NAMES.map((name) => [name]) },
  ]
}

function buildAddresses(random: SeededRandom): ReferenceTable {
  const count = REFERENCE_ROW_COUNTS.address
  // Exact null shares (2 in 3, 1 in 2) rather than coin flips: tests and demos can rely on them.
  const withLine2 = new Set(random.shuffle(range(count)).slice(0, Math.round(count / 3)))
  const withDistrict = new Set(random.shuffle(range(count)).slice(0, Math.round(count / 2)))
  const rows = range(count).map((i) => [
    `${random.int(1, 9999)} ${random.pick(LAST_NAMES)} ${random.pick(STREET_SUFFIXES)}`,
    withLine2.has(i) ? `${random.pick(LINE_2_PREFIXES)} ${random.int(1, 120)}` : null,
    withDistrict.has(i) ? random.pick(DISTRICTS) : null,
    random.pick(CITIES),
    // Text with leading zeros: a consumer that turns it into a number loses them.
    String(random.int(0, 99999)).padStart(5, '0'),
    random.pick(COUNTRIES),
    `0${random.int(1000, 1999)} ${random.int(100000, 999999)}`,
  ])
  return {
    name: 'address',
    columns: ['address_line_1', 'address_line_2', 'district', 'city', 'postal_code', 'country', 'phone'],
    rows,
  }
}

function buildCounterparties(random: SeededRandom): ReferenceTable {
  const rows = range(REFERENCE_ROW_COUNTS.counterparty).map((i) => [
    companyName(random, i),
    random.int(1, REFERENCE_ROW_COUNTS.address),
    `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`,
    `${random.pick(TITLES)} ${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`,
  ])
  return {
    name: 'counterparty',
    columns: ['counterparty_legal_name', 'legal_address_id', 'commercial_contact', 'delivery_contact'],
    rows,
  }
}

/** Varied legal names, some with commas and apostrophes, all distinct (the index makes them so). */
function companyName(random: SeededRandom, index: number): string {
  const a = LAST_NAMES[index % LAST_NAMES.length] as string
  const b = random.pick(LAST_NAMES)
  const c = random.pick(LAST_NAMES)
  switch (index % 4) {
    case 0:
      return `${a} ${random.pick(COMPANY_SUFFIXES)}`
    case 1:
      return `${a}, ${b} and ${c}`
    case 2:
      return `${a} - ${b}`
    default:
      return `${a} and ${b}`
  }
}

function buildStaff(random: SeededRandom): ReferenceTable {
  const firstNames = random.shuffle(FIRST_NAMES)
  const lastNames = random.shuffle(LAST_NAMES)
  const rows = range(REFERENCE_ROW_COUNTS.staff).map((i) => {
    const first = firstNames[i % firstNames.length] as string
    const last = lastNames[i % lastNames.length] as string
    // Round-robin departments: every department, including the one without a location, has staff.
    const departmentId = (i % REFERENCE_ROW_COUNTS.department) + 1
    return [first, last, departmentId, `${emailPart(first)}.${emailPart(last)}@terrifictotes.com`]
  })
  return { name: 'staff', columns: ['first_name', 'last_name', 'department_id', 'email_address'], rows }
}

export interface DesignFields {
  readonly designName: string
  readonly fileLocation: string
  readonly fileName: string
}

/** A design as ToteSys names them: `wooden-20230412-abcd.json` under a Unix-like folder. */
export function drawDesign(random: SeededRandom, createdDate: string): DesignFields {
  const designName = random.pick(DESIGN_NAMES)
  let tag = ''
  for (let i = 0; i < 4; i++) tag += String.fromCharCode(97 + random.int(0, 25))
  return {
    designName,
    fileLocation: random.pick(DESIGN_FILE_LOCATIONS),
    fileName: `${designName.toLowerCase()}-${createdDate.replaceAll('-', '')}-${tag}.json`,
  }
}

/** A file location different from `current`, for a silent edit. */
export function drawOtherFileLocation(random: SeededRandom, current: string): string {
  return random.pick(DESIGN_FILE_LOCATIONS.filter((location) => location !== current))
}

function emailPart(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '')
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i)
}
