/**
 * Schema changes in the source: added columns (odd names and types) and new
 * tables travel without a word; a dropped, renamed or retyped column stops
 * extract before anything moves, saying what changed and how to go on
 * (revert it, or accept it with `--accept-schema-change`).
 */
import type { CaseContext, HostileCase } from './hostile-case.js'
import { extract } from '../../src/pipeline/extract.js'
import { extractOptions } from '../../src/runtime/pipeline-setup.js'

const STAMP = "'2024-11-19 09:00:00'"
const DRIFT = /^The source schema changed since run \d+T\d+Z: .*Nothing was extracted\. .*starline extract --accept-schema-change/

/** Statements run in order against the source. */
const sqlAct = (...statements: string[]) => async (ctx: CaseContext) => {
  for (const sql of statements) await ctx.pipeline.source(sql)
}

function added(id: string, does: string, ...statements: string[]): HostileCase {
  return { id: `schema-${id}`, category: 'schema changes', does, expect: 'exact', act: sqlAct(...statements) }
}

function breaking(id: string, does: string, change: string[], what: RegExp, fix: (ctx: CaseContext) => Promise<void>): HostileCase {
  return {
    id: `schema-${id}`,
    category: 'schema changes',
    does,
    expect: 'refused',
    act: sqlAct(...change, `UPDATE sales_order SET units_sold = units_sold + 1, last_updated = ${STAMP} WHERE sales_order_id = 1`),
    refusal: { message: new RegExp(`${DRIFT.source}|${what.source}`) },
    stage: 'extract',
    fix,
  }
}

/** The documented way on: record the new schema (the models do not read the column). */
const accept = async (ctx: CaseContext) => void (await extract(ctx.pipeline.ctx, { ...extractOptions(ctx.pipeline.config), acceptSchemaChange: true }))
const revert = (...statements: string[]) => sqlAct(...statements)

export const SCHEMA_CASES: readonly HostileCase[] = [
  added('added-nullable', 'adds a nullable text column to design and fills one row', 'ALTER TABLE design ADD COLUMN colour text', `UPDATE design SET colour = 'teal', last_updated = ${STAMP} WHERE design_id = 3`),
  added('added-not-null-default', 'adds a NOT NULL column with a default to address', "ALTER TABLE address ADD COLUMN region text NOT NULL DEFAULT 'none'", `UPDATE address SET region = 'north', last_updated = ${STAMP} WHERE address_id = 4`),
  added('added-odd-name', 'adds a column whose name has quotes, a comma and a space', 'ALTER TABLE design ADD COLUMN "odd ""name"", x" text', `UPDATE design SET "odd ""name"", x" = 'v', last_updated = ${STAMP} WHERE design_id = 4`),
  added('added-reserved-word', 'adds columns named select and from', 'ALTER TABLE staff ADD COLUMN "select" integer, ADD COLUMN "from" text', `UPDATE staff SET "select" = 1, "from" = 'x', last_updated = ${STAMP} WHERE staff_id = 2`),
  added('added-jsonb', 'adds a jsonb column holding quotes and commas', 'ALTER TABLE counterparty ADD COLUMN extra jsonb', `UPDATE counterparty SET extra = '{"a": "b, \\"c\\"", "n": [1, 2]}', last_updated = ${STAMP} WHERE counterparty_id = 2`),
  added('added-numeric', 'adds a numeric(18,6) column to payment', 'ALTER TABLE payment ADD COLUMN fx_rate numeric(18, 6)', `UPDATE payment SET fx_rate = 1.234567, last_updated = ${STAMP} WHERE payment_id = 3`),
  added('added-upper-case', 'adds a column with upper-case letters to currency', 'ALTER TABLE currency ADD COLUMN "Symbol" text', `UPDATE currency SET "Symbol" = '£', last_updated = ${STAMP} WHERE currency_id = 1`),
  added('new-table', 'creates a new table in the source schema', 'CREATE TABLE loyalty (loyalty_id serial PRIMARY KEY, points integer, last_updated timestamp(3) NOT NULL)', `INSERT INTO loyalty (points, last_updated) VALUES (5, ${STAMP})`),
  added('default-changed', 'changes a column default and adds an index', "ALTER TABLE design ALTER COLUMN file_location SET DEFAULT '/tmp'", 'CREATE INDEX design_name_idx ON design (design_name)'),
  added('enum-value-added', 'adds a value to an enum type that no row uses yet', "ALTER TYPE \"PaymentTypeName\" ADD VALUE 'GIFT_CARD'"),
  breaking('column-dropped', 'drops a column the models do not read (payment.company_ac_number)', ['ALTER TABLE payment DROP COLUMN company_ac_number'], /"payment"\."company_ac_number" was removed/, accept),
  breaking('column-renamed', 'renames a column the models do not read', ['ALTER TABLE payment RENAME COLUMN counterparty_ac_number TO cp_account'], /"payment"\."counterparty_ac_number" was removed/, revert('ALTER TABLE payment RENAME COLUMN cp_account TO counterparty_ac_number')),
  breaking('column-retyped', 'widens sales_order.units_sold to bigint', ['ALTER TABLE sales_order ALTER COLUMN units_sold TYPE bigint'], /"sales_order"\."units_sold" changed type from integer to bigint/, revert('ALTER TABLE sales_order ALTER COLUMN units_sold TYPE integer')),
  breaking('varchar-widened', 'widens currency.currency_code from varchar(3) to varchar(5)', ['ALTER TABLE currency ALTER COLUMN currency_code TYPE varchar(5)'], /"currency"\."currency_code" changed type/, revert('ALTER TABLE currency ALTER COLUMN currency_code TYPE varchar(3)')),
  breaking('money-retyped', 'changes payment.payment_amount to numeric(12,4)', ['ALTER TABLE payment ALTER COLUMN payment_amount TYPE numeric(12, 4)'], /"payment"\."payment_amount" changed type/, revert('ALTER TABLE payment ALTER COLUMN payment_amount TYPE numeric(10, 2)')),
  {
    id: 'schema-internal-name-collision',
    category: 'schema changes',
    does: 'adds source columns named _raw, _reasons and _file (the transform\'s internal names)',
    expect: 'exact',
    act: sqlAct('ALTER TABLE design ADD COLUMN _raw text, ADD COLUMN _reasons text, ADD COLUMN _file text', `UPDATE design SET _raw = 'r', _reasons = 'x', _file = 'f', last_updated = ${STAMP} WHERE design_id = 5`),
  },
]
