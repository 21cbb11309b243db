/**
 * Generated rows into a source table with COPY FROM STDIN: lines are built
 * lazily and sent in 64 KB chunks, so memory stays flat whatever the count.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ClientBase } from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { quoteIdent, quoteIdentList } from '../../sql/quote.js'
import type { CellValue } from './reference-data.js'

const CHUNK_CHARS = 64 * 1024

export async function copyRows(client: ClientBase, table: string, columns: readonly string[], lines: Iterable<string>): Promise<number> {
  const sql = `COPY ${quoteIdent(table)} (${quoteIdentList(columns)}) FROM STDIN WITH (FORMAT csv)`
  const target = client.query(copyFrom(sql))
  // Readable.from pulls the next chunk only when the copy stream wants it: backpressure for free.
  await pipeline(Readable.from(inChunks(lines), { objectMode: false }), target)
  return target.rowCount
}

function* inChunks(lines: Iterable<string>): Generator<string> {
  let chunk = ''
  for (const line of lines) {
    chunk += line
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk.length > 0) yield chunk
}

export function csvLine(cells: readonly CellValue[]): string {
  return `${cells.map(csvCell).join(',')}\n`
}

/** NULL is an unquoted empty field; an empty string must be quoted to stay a string. */
function csvCell(value: CellValue): string {
  if (value === null) return ''
  if (typeof value === 'number') return String(value)
  return value === '' || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}
