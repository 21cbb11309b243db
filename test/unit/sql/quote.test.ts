import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidIdentifierError, qualify, quoteIdent, quoteIdentList, quoteLiteral, quoteRedshiftLiteral } from '../../../src/sql/quote.js'
import { StarlineError } from '../../../src/core/starline-error.js'

/** Reverses quoteIdent, as an SQL parser reads a quoted identifier. */
function unquoteIdent(quoted: string): string {
  assert.match(quoted, /^"(?:[^"]|"")*"$/s, `${quoted} is not one well-formed quoted identifier`)
  return quoted.slice(1, -1).replaceAll('""', '"')
}

/** Reverses quoteLiteral, as a standard-conforming SQL parser reads a string constant. */
function unquoteLiteral(quoted: string): string {
  assert.match(quoted, /^'(?:[^']|'')*'$/s, `${quoted} is not one well-formed string literal`)
  return quoted.slice(1, -1).replaceAll("''", "'")
}

const HOSTILE_NAMES = [
  'a"; DROP TABLE x; --',
  '"',
  '""',
  'x" , "y',
  "it's",
  'with space',
  '  leading and trailing  ',
  'Ünïcödé_表_🙂',
  'new\nline\ttab',
  'back\\slash',
  '$1',
  'select',
] as const

describe('quoteIdent', () => {
  it('wraps a plain name in double quotes', () => {
    assert.equal(quoteIdent('dim_staff'), '"dim_staff"')
  })

  it('keeps the case of the name', () => {
    assert.equal(quoteIdent('MixedCase'), '"MixedCase"')
  })

  it('doubles inner double quotes', () => {
    assert.equal(quoteIdent('a"b'), '"a""b"')
    assert.equal(quoteIdent('"'), '""""')
  })

  it('rejects an empty name with InvalidIdentifierError', () => {
    assert.throws(() => quoteIdent(''), InvalidIdentifierError)
  })

  it('rejects a name containing NUL with InvalidIdentifierError', () => {
    assert.throws(() => quoteIdent('a\0b'), InvalidIdentifierError)
  })

  it('raises a terminal StarlineError for a bad name', () => {
    assert.throws(
      () => quoteIdent(''),
      (error: unknown) => error instanceof StarlineError && error.name === 'InvalidIdentifierError' && !error.retryable,
    )
  })

  it('round-trips hostile names into exactly one identifier', () => {
    for (const name of HOSTILE_NAMES) {
      assert.equal(unquoteIdent(quoteIdent(name)), name, `round trip of ${JSON.stringify(name)}`)
    }
  })
})

describe('qualify', () => {
  it('joins a quoted schema and a quoted table with a dot', () => {
    assert.equal(qualify('public', 'fact_sales_order'), '"public"."fact_sales_order"')
  })

  it('quotes hostile parts so the dot stays the only separator', () => {
    assert.equal(qualify('a"."b', 'c.d'), '"a"".""b"."c.d"')
  })

  it('rejects an empty schema or table', () => {
    assert.throws(() => qualify('', 't'), InvalidIdentifierError)
    assert.throws(() => qualify('s', ''), InvalidIdentifierError)
  })

  it('rejects NUL in either part', () => {
    assert.throws(() => qualify('s\0', 't'), InvalidIdentifierError)
    assert.throws(() => qualify('s', '\0t'), InvalidIdentifierError)
  })
})

describe('quoteIdentList', () => {
  it('quotes each name and separates them with commas', () => {
    assert.equal(quoteIdentList(['a', 'b"c', 'd e']), '"a", "b""c", "d e"')
  })

  it('rejects the list when one name is invalid', () => {
    assert.throws(() => quoteIdentList(['a', '']), InvalidIdentifierError)
  })
})

describe('quoteLiteral', () => {
  it('wraps a value in single quotes', () => {
    assert.equal(quoteLiteral('s3://bucket/key'), "'s3://bucket/key'")
  })

  it('doubles inner single quotes', () => {
    assert.equal(quoteLiteral("O'Brien"), "'O''Brien'")
    assert.equal(quoteLiteral("'"), "''''")
  })

  it('keeps backslashes as they are', () => {
    assert.equal(quoteLiteral('C:\\path\\n'), "'C:\\path\\n'")
  })

  it('quotes an empty value as an empty literal', () => {
    assert.equal(quoteLiteral(''), "''")
  })

  it('rejects a value containing NUL', () => {
    assert.throws(() => quoteLiteral('a\0b'), InvalidIdentifierError)
  })

  it('round-trips hostile values into exactly one literal', () => {
    for (const value of [...HOSTILE_NAMES, "'; DROP TABLE x; --", "\\'", "''"]) {
      assert.equal(unquoteLiteral(quoteLiteral(value)), value, `round trip of ${JSON.stringify(value)}`)
    }
  })
})

describe('quoteRedshiftLiteral', () => {
  it('doubles backslashes as well as single quotes, since Redshift reads a backslash as an escape', () => {
    assert.equal(quoteRedshiftLiteral('s3://lake/a\\b'), "'s3://lake/a\\\\b'")
    assert.equal(quoteRedshiftLiteral("it's \\'"), "'it''s \\\\'''")
  })

  it('rejects a value containing NUL', () => {
    assert.throws(() => quoteRedshiftLiteral('a\0b'), InvalidIdentifierError)
  })
})
