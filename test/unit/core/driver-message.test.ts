import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { driverMessage, withoutValues } from '../../../src/core/driver-message.js'

// Messages as DuckDB and PostgreSQL write them; the account number must never come through.
describe('withoutValues', () => {
  const cases: [string, string][] = [
    ['Constraint Error: PRIMARY KEY or UNIQUE constraint violation: duplicate key "acct-4411"', 'duplicate key "…"'],
    ['Constraint Error: Violates foreign key constraint because key "k: acct-4411" does not exist in the referenced table', 'because key "…" does not exist'],
    ["Conversion Error: Could not convert string 'O'Brien acct-4411' to INT32", "string '…' to"],
    ['duplicate key value violates unique constraint "payment_pkey" Key (payment_id)=(acct-4411) already exists.', 'Key (payment_id)=(…)'],
    ['invalid input syntax for type integer: "acct-4411"', 'integer: "…"'],
  ]
  for (const [message, kept] of cases) {
    it(`withholds the value in: ${message.slice(0, 60)}`, () => {
      const shown = withoutValues(message)
      assert.doesNotMatch(shown, /4411/)
      assert.ok(shown.includes(kept), shown)
    })
  }

  it('keeps identifiers PostgreSQL double-quotes', () => {
    assert.equal(withoutValues('column "amount" of relation "payment" does not exist'), 'column "amount" of relation "payment" does not exist')
  })

  it('keeps a driver error to one line', () => {
    assert.equal(driverMessage(new Error("Conversion Error: Could not convert string 'x' to INT32\nLINE 1: SELECT 'x'")), "Conversion Error: Could not convert string '…' to INT32")
  })
})
