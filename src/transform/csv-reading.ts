/**
 * How the transform reads the lake's CSV files in DuckDB so that one value
 * can fail its row but never the run: every column as text, records as long
 * as the file needs (up to what a PostgreSQL row can hold), and records
 * DuckDB still cannot read (bad UTF-8, a broken quote, a wrong column count)
 * set aside with where they were, instead of an error that prints the row.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ManifestColumn } from '../lake/manifest.js'
import { quoteIdent, quoteLiteral } from '../sql/quote.js'

/** One CSV file of a source table and the columns it was written with. */
export interface CsvFile {
  readonly path: string
  readonly columns: readonly ManifestColumn[]
  /** Its content's SHA-256 (from its manifest): what its measured record length is remembered by. */
  readonly sha256?: string
}

/** DuckDB's own record limit (`max_line_size`, 2 000 000 bytes) and read buffer (16 times it): files no longer than the limit keep them. */
const DEFAULT_MAX_RECORD_BYTES = 2_000_000
const DEFAULT_BUFFER_BYTES = 16 * DEFAULT_MAX_RECORD_BYTES
/**
 * The longest record read: PostgreSQL caps one value at 1 GB, and DuckDB
 * holds a whole record in one buffer, so a longer one is set aside (its
 * row quarantined) rather than read.
 */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024

/** Where DuckDB records what it could not read (temporary tables, replaced by each read that stores rejects). */
export const REJECTS = { errors: 'starline_rejects', scans: 'starline_reject_scans' } as const

export interface CsvReadOptions {
  /** The longest record in the files (see longestRecordBytes). */
  readonly longestRecord: number
  /** 'store': unreadable records go to REJECTS; 'skip': they were quarantined when they arrived. */
  readonly unreadable: 'store' | 'skip'
  /** The name of the column that says which file a row came from (free of the files' column names). */
  readonly fileColumn: string
}

/**
 * read_csv over files that share one column list, every column as text, with
 * PostgreSQL's CSV conventions: an unquoted empty field is NULL, a quoted
 * empty field ("") is the empty string.
 */
export function readCsvAsText(files: readonly CsvFile[], options: CsvReadOptions): string {
  const columns = files[0]!.columns.map((c) => `${quoteLiteral(c.name)}: 'VARCHAR'`).join(', ')
  const paths = files.map((f) => quoteLiteral(f.path)).join(', ')
  // A longer limit costs a buffer that size: raised only for the files that need it.
  const limit = Math.min(Math.max(options.longestRecord + 1, DEFAULT_MAX_RECORD_BYTES), MAX_RECORD_BYTES)
  const sizes = limit > DEFAULT_MAX_RECORD_BYTES ? `, max_line_size = ${limit}, buffer_size = ${Math.max(limit, DEFAULT_BUFFER_BYTES)}` : ''
  const unreadable =
    options.unreadable === 'store'
      ? `, store_rejects = true, rejects_table = ${quoteLiteral(REJECTS.errors)}, rejects_scan = ${quoteLiteral(REJECTS.scans)}`
      : ', ignore_errors = true'
  return (
    `read_csv([${paths}], header = true, auto_detect = false, columns = {${columns}}, ` +
    `delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, null_padding = false, ` +
    `filename = ${quoteLiteral(options.fileColumn)}${sizes}${unreadable})`
  )
}

/** Run before a read that stores rejects: a read that rejects nothing leaves the tables of the one before. */
export const CLEAR_REJECTS_SQL = [REJECTS.errors, REJECTS.scans].map((table) => `DROP TABLE IF EXISTS ${quoteIdent(table)}`)

/** The records DuckDB set aside in the last read that stored them: where, and why (never the record itself). */
export const UNREADABLE_RECORDS_SQL =
  `SELECT s.file_path AS file, e.line::BIGINT AS line, e.error_type AS error, e.column_name AS "column" ` +
  `FROM ${quoteIdent(REJECTS.errors)} e JOIN ${quoteIdent(REJECTS.scans)} s USING (scan_id, file_id) ` +
  // A record short of two values is reported once per missing value: one row is one record.
  'QUALIFY row_number() OVER (PARTITION BY e.scan_id, e.file_id, e.line ORDER BY e.column_idx) = 1 ORDER BY e.line'

/** One record DuckDB could not read. */
export interface UnreadableRecord {
  readonly file: string
  readonly line: string
  readonly error: string
  readonly column: string | null
}

/** Why an unreadable record failed, in words, naming only its place (its values may be private). */
export function unreadableReason(record: UnreadableRecord): string {
  const where = `line ${record.line} of the file could not be read`
  const column = record.column ? ` in column ${record.column}` : ''
  const why: Record<string, string> = {
    'INVALID ENCODING': `: it is not valid UTF-8${column}`,
    'LINE SIZE OVER MAXIMUM': `: it is longer than ${MAX_RECORD_BYTES} bytes`,
    'UNQUOTED VALUE': `: a quote is out of place${column}`,
    'UNTERMINATED QUOTES': ': a quoted value is never closed',
    'TOO MANY COLUMNS': ': it has more values than the header',
    'MISSING COLUMNS': ': it has fewer values than the header',
  }
  return `${where}${why[record.error] ?? ` (${record.error.toLowerCase()})`}`
}

/**
 * The longest CSV record (header included) in `path`, in bytes, counting
 * newlines inside quoted values as DuckDB does. A file no longer than
 * DuckDB's default limit cannot hold a longer record and is not read.
 */
export async function longestRecordBytes(path: string): Promise<number> {
  const { size } = await stat(path)
  if (size <= DEFAULT_MAX_RECORD_BYTES) return size
  let longest = 0
  let start = 0 // where the current record began, counted over the whole file
  let offset = 0
  let quoted = false
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let at = 0
    let quote = chunk.indexOf(0x22)
    let newline = chunk.indexOf(0x0a)
    while (at < chunk.length) {
      // A doubled quote inside a quoted value toggles twice, so parity alone says whether a newline ends a record.
      if (quote >= 0 && (quoted || newline < 0 || quote < newline)) {
        quoted = !quoted
        at = quote + 1
        quote = chunk.indexOf(0x22, at)
        if (newline >= 0 && newline < at) newline = chunk.indexOf(0x0a, at)
        continue
      }
      if (quoted || newline < 0) break
      longest = Math.max(longest, offset + newline + 1 - start)
      start = offset + newline + 1
      at = newline + 1
      newline = chunk.indexOf(0x0a, at)
    }
    offset += chunk.length
  }
  return Math.max(longest, offset - start)
}

/** Longest records already known, by file content: a file read again in a later run is not measured again. */
const measured = new Map<string, number>()
const MAX_REMEMBERED = 10_000

/**
 * The longest record of `file` if known (remembered, or measured because
 * `measure` asks), else 0: DuckDB's default limit, and DuckDB reports a
 * longer record as a reject (see needsLongerRecords).
 */
export async function knownLongestRecord(file: CsvFile, measure: boolean): Promise<number> {
  const known = file.sha256 === undefined ? undefined : measured.get(file.sha256)
  if (known !== undefined || !measure) return known ?? 0
  const longest = await longestRecordBytes(file.path)
  rememberLongestRecord(file, longest)
  return longest
}

/** Remembers what a read found: the file's longest record, or that it fits DuckDB's default limit (0). */
export function rememberLongestRecord(file: CsvFile, longest: number): void {
  if (file.sha256 === undefined) return
  if (measured.size >= MAX_REMEMBERED) measured.clear()
  measured.set(file.sha256, longest <= DEFAULT_MAX_RECORD_BYTES ? 0 : longest)
}

/** Whether a read at DuckDB's default limit set records aside only for being longer than it. */
export function needsLongerRecords(unreadable: readonly UnreadableRecord[]): boolean {
  return unreadable.some((record) => record.error === 'LINE SIZE OVER MAXIMUM')
}

/** `base` with underscores put in front until it is none of `taken` (DuckDB compares names without case). */
export function freeName(base: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map((name) => name.toLowerCase()))
  let name = base
  while (used.has(name.toLowerCase())) name = `_${name}`
  return name
}
