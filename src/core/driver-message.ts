/**
 * Driver messages fit to show a user. Database drivers put the data they
 * choked on into their messages: DuckDB's CSV reader prints the whole
 * offending line (bank account numbers included) below its first line,
 * DuckDB quotes the string it could not convert, PostgreSQL the value its
 * input syntax refused. starline wraps a driver error once, at its layer's
 * boundary, with what failed and where; the driver's words it adds come
 * through here, so no row contents reach a message, a log or a failure
 * record. The unchanged driver error stays attached as the `cause`.
 */
import { messageOf } from './starline-error.js'

/** What replaces a value a driver quoted. */
const WITHHELD = '…'

/**
 * The driver's message, one line, without the values it quoted. DuckDB's
 * first line names the error class and place; for a CSV error the line
 * after the one it quotes says what was wrong, and is kept too.
 */
export function driverMessage(error: unknown): string {
  const lines = messageOf(error)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
  const first = lines[0] ?? ''
  const kept = /CSV Error on Line/i.test(first) ? [first, lines.find((line, i) => i > 0 && !/^(Original Line|Possible Solution)/i.test(line))] : [first]
  return kept
    .filter((line): line is string => line !== undefined)
    .map(withoutValues)
    .join(': ')
}

/**
 * Quoted values cut out: single-quoted strings (DuckDB quotes values that
 * way, identifiers with double quotes), double-quoted text after a colon or
 * the words `value` and `key` (PostgreSQL: `invalid input syntax for type
 * integer: "..."`, `value "..." is out of range`; DuckDB: `duplicate key
 * "..."`, `because key "..." does not exist`), and `Key (col)=(...)`.
 * Identifiers PostgreSQL double-quotes (`column "x" of relation "y"`) stay.
 */
export function withoutValues(text: string): string {
  return (
    text
      // From a line's first single quote to its last: DuckDB does not escape a quote inside the value it quotes.
      .replace(/'[^\n]*'/g, `'${WITHHELD}'`)
      .replace(/(:\s*|\bvalue\s+|\bkey\s+)"(?:[^"]|"")*"/gi, `$1"${WITHHELD}"`)
      // PostgreSQL's `Key (id)=(42) already exists`.
      .replace(/\)=\([^\n]*?\)/g, `)=(${WITHHELD})`)
  )
}
