/**
 * One table's rows in a watermark range, as the CSV `COPY ... TO STDOUT`
 * writes it (header included), read through CopyOutStream.
 */
import type pg from 'pg'
import { quoteIdent, quoteLiteral, qualify } from '../../sql/quote.js'
import { CopyOutStream } from '../../engines/postgres/copy-out-stream.js'
import type { WatermarkRange } from '../../schema/watermark.js'
import type { CsvStream } from '../source.js'

/**
 * `COPY (SELECT <columns> FROM <table> WHERE from < watermark <= to) TO STDOUT`
 * as CSV with a header. COPY takes no bind parameters, so the bounds (which
 * starline formatted itself) go in as quoted literals.
 */
export function copyTableRange(
  client: pg.ClientBase,
  schema: string,
  table: string,
  columns: readonly string[],
  range: WatermarkRange,
  /** Rows to take whatever their watermark (silent edits found by reconciliation). */
  extra?: { readonly keyColumn: string; readonly keys: readonly string[] },
): CsvStream {
  const lower = range.from === null ? '' : `${quoteIdent(range.column)} > ${quoteLiteral(range.from)}::timestamp AND `
  let where = `${lower}${quoteIdent(range.column)} <= ${quoteLiteral(range.to)}::timestamp`
  if (extra && extra.keys.length > 0) {
    where = `(${where}) OR ${quoteIdent(extra.keyColumn)}::text IN (${extra.keys.map(quoteLiteral).join(', ')})`
  }
  const sql =
    `COPY (SELECT ${columns.map(quoteIdent).join(', ')} FROM ${qualify(schema, table)} WHERE ${where}) ` +
    'TO STDOUT WITH (FORMAT csv, HEADER true)'
  // The submittable's connection type is pg's internal Connection; CopyOutStream needs its socket and query().
  return client.query(new CopyOutStream(sql) as unknown as pg.Submittable) as unknown as CsvStream
}
