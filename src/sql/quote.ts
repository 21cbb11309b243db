/**
 * The one place that turns names and literal values into SQL text.
 *
 * Values are bound as parameters wherever the engine allows it; `quoteLiteral`
 * is only for statements that cannot take parameters (`COPY (SELECT ...) TO
 * STDOUT`, DuckDB `COPY ... TO 'path'`); Redshift SQL embeds its literals
 * with `quoteRedshiftLiteral` (`COPY ... IAM_ROLE '...'`, the loader's SQL).
 */
import { StarlineError } from '../core/starline-error.js'

export class InvalidIdentifierError extends StarlineError {}

/** `name` -> `"name"`, doubling inner quotes. Rejects empty names and NUL. */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidIdentifierError('An SQL identifier must be a non-empty string.')
  }
  if (name.includes('\0')) {
    throw new InvalidIdentifierError(`The SQL identifier ${JSON.stringify(name)} contains a NUL character.`)
  }
  return `"${name.replaceAll('"', '""')}"`
}

/** `schema.table`, each part quoted. */
export function qualify(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`
}

/** A comma-separated list of quoted identifiers. */
export function quoteIdentList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ')
}

/**
 * `value` -> `'value'`, doubling inner single quotes. Standard-conforming
 * strings (the default since PostgreSQL 9.1, and DuckDB's only mode) treat
 * backslashes literally, so nothing else needs escaping. Rejects NUL, which
 * no engine can store in text.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) {
    throw new InvalidIdentifierError('An SQL literal cannot contain a NUL character.')
  }
  return `'${value.replaceAll("'", "''")}'`
}

/**
 * A string literal for Redshift, which (unlike PostgreSQL since 9.1) reads a
 * backslash in a literal as an escape: `a\b` must be written `'a\\b'`, or it
 * reads back as `a` and a backspace. Doubles backslashes and single quotes;
 * rejects NUL.
 */
export function quoteRedshiftLiteral(value: string): string {
  return quoteLiteral(value.replaceAll('\\', '\\\\'))
}
