/**
 * Finds a table's Parquet files under its prefix and checks them with DuckDB
 * before anything in the warehouse changes: there is at least one file, each
 * file has exactly the spec's columns with compatible types, and every value
 * fits its column (varchar length, numeric precision, integer range, no NUL
 * in text, merge keys present and unique).
 *
 * Producers leave more than data in a prefix: Spark's `_SUCCESS`, `_temporary/`,
 * `.crc` checksums. Any file or folder whose name starts with `_` or `.` is a
 * marker, not data; every other file must be Parquet.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { driverMessage } from '../core/driver-message.js'
import { openDuckDb, type DuckDb } from '../engines/duckdb/duckdb-engine.js'
import { readParquetSql } from '../engines/duckdb/parquet-select.js'
import type { ObjectStore } from '../lake/object-store.js'
import { columnTypeText, duckdbColumnType, type LoaderColumn } from '../schema/parquet-table.js'
import { quoteIdent, quoteLiteral } from '../sql/quote.js'
import type { TableLoad, TableLoadFile, TableLoadsCapabilities } from '../warehouse/table-loads.js'
import { LoaderDataError } from './errors.js'
import type { LoaderTable } from './loader-spec.js'

/** A prefix's listing split into data files and marker files. */
interface PrefixListing {
  readonly data: readonly { readonly key: string; readonly size: number; readonly sha256?: string }[]
  /** Keys of marker files (`_SUCCESS`...), for event filtering. */
  readonly markers: readonly string[]
}

/** Lists `store` (rooted at a table's prefix), recursing into nested folders. */
async function listPrefix(store: ObjectStore): Promise<PrefixListing> {
  const data: { key: string; size: number; sha256?: string }[] = []
  const markers: string[] = []
  for await (const info of store.list('')) {
    if (isMarkerKey(info.key)) markers.push(info.key)
    else data.push(info)
  }
  return { data, markers }
}

/** A key any of whose segments starts with `_` or `.` is a marker or a producer's scratch file. */
export function isMarkerKey(key: string): boolean {
  return key.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.'))
}

export interface InspectOptions {
  readonly db: DuckDb
  readonly scratchDir: string
  readonly capabilities: TableLoadsCapabilities
}

/** Checks tables' files in a DuckDB of its own; close it when done. */
export interface ParquetInspector {
  inspect(table: LoaderTable, store: ObjectStore, capabilities: TableLoadsCapabilities): Promise<TableLoad>
  close(): void
}

/** Opens the DuckDB the checks run in, with the settings they need (UTC, no file cache). */
export async function openParquetInspector(options: { readonly scratchDir: string; readonly memoryLimit?: string }): Promise<ParquetInspector> {
  const db = await openDuckDb({ scratchDir: options.scratchDir, ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}) })
  try {
    await db.run("SET TimeZone = 'UTC'")
    // The checks stream each file once: caching its bytes in memory would grow with the file.
    await db.run('SET enable_external_file_cache = false')
  } catch (error) {
    db.close()
    throw error
  }
  return {
    inspect: (table, store, capabilities) => inspectTable(table, store, { db, scratchDir: options.scratchDir, capabilities }),
    close: () => db.close(),
  }
}

/** Lists, downloads where needed, and checks one table's files; throws `LoaderDataError` on any mismatch. */
export async function inspectTable(table: LoaderTable, store: ObjectStore, options: InspectOptions): Promise<TableLoad> {
  const listing = await listPrefix(store)
  if (listing.data.length === 0) {
    throw new LoaderDataError(
      `Table "${table.name}": no Parquet file under ${table.prefix}. Check the spec's prefix, or wait until the producer has written the data.`,
      { context: { table: table.name } },
    )
  }
  if (table.marker && !listing.markers.includes(table.marker)) {
    throw new LoaderDataError(
      `Table "${table.name}": no "${table.marker}" marker under ${table.prefix}, so its producer has not finished writing. Run again once it has.`,
      { retryable: true, context: { table: table.name } },
    )
  }
  const files: TableLoadFile[] = []
  for (const info of listing.data) {
    const localPath = await store.localPath(info.key, options.scratchDir)
    const url = `${table.prefix}${info.key}`
    await assertParquet(localPath, table.name, url)
    const fileTypes = await checkColumns(table, url, localPath, options)
    const rows = await checkValues(table, url, localPath, fileTypes, options)
    files.push({ key: info.key, url, localPath, size: info.size, sha256: info.sha256 ?? (await sha256File(localPath)), rows })
  }
  if (table.mode === 'merge') await checkMergeKey(table, files, options.db)
  return {
    name: table.name,
    mode: table.mode,
    key: table.key,
    columns: table.columns,
    prefix: table.prefix,
    files,
    rows: files.reduce((sum, f) => sum + f.rows, 0),
    fingerprint: fingerprint(table, files),
  }
}

async function assertParquet(path: string, table: string, url: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    const head = Buffer.alloc(4)
    const tail = Buffer.alloc(4)
    if (size >= 12) {
      await handle.read(head, 0, 4, 0)
      await handle.read(tail, 0, 4, size - 4)
    }
    if (head.toString('latin1') !== 'PAR1' || tail.toString('latin1') !== 'PAR1') {
      throw new LoaderDataError(
        `Table "${table}": ${url} is not a Parquet file. Remove it from the prefix, or rename it to start with "_" or "." if it is a marker.`,
        { context: { table, file: url } },
      )
    }
  } finally {
    await handle.close()
  }
}

/** Checks the file's columns against the spec; returns each column's type as DuckDB reads it from the file. */
async function checkColumns(table: LoaderTable, url: string, path: string, options: InspectOptions): Promise<ReadonlyMap<string, string>> {
  let described: { column_name: string; column_type: string }[]
  try {
    described = await options.db.all(`DESCRIBE SELECT * FROM ${readParquetSql([path])}`)
  } catch (error) {
    throw new LoaderDataError(`Table "${table.name}": cannot read ${url} as Parquet: ${driverMessage(error)}.`, {
      cause: error,
      context: { table: table.name, file: url },
    })
  }
  const fileNames = described.map((d) => d.column_name)
  const specNames = table.columns.map((c) => c.name)
  const missing = specNames.filter((n) => !fileNames.includes(n))
  const extra = fileNames.filter((n) => !specNames.includes(n))
  const fail = (problem: string): never => {
    throw new LoaderDataError(`Table "${table.name}": ${url} ${problem}. Fix the file or the spec's columns; nothing was loaded.`, {
      context: { table: table.name, file: url },
    })
  }
  if (missing.length > 0 || extra.length > 0) {
    const parts = [missing.length ? `lacks ${names(missing)}` : '', extra.length ? `has extra ${names(extra)}` : ''].filter(Boolean)
    fail(`${parts.join(' and ')} (file columns: ${fileNames.join(', ')})`)
  }
  if (options.capabilities.columnsByPosition && fileNames.join('\0') !== specNames.join('\0')) {
    fail(`has its columns in another order (${fileNames.join(', ')}) than the spec, and this warehouse copies Parquet columns by position`)
  }
  for (const column of table.columns) {
    const fileType = described.find((d) => d.column_name === column.name)!.column_type
    if (!compatible(fileType, column) || (!options.capabilities.convertsTypes && needsConversion(fileType, column))) {
      fail(`has column "${column.name}" as ${fileType}, which cannot load into ${columnTypeText(column.type)}`)
    }
  }
  return new Map(described.map((d) => [d.column_name, d.column_type]))
}

const INTEGER_TYPES = /^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT))$/
const TIMESTAMP_TYPES = /^TIMESTAMP(_NS|_MS|_S| WITH TIME ZONE)?$/

/** Which Parquet (as DuckDB reads it) types may load into which SQL type without losing anything. */
function compatible(fileType: string, column: LoaderColumn): boolean {
  const integer = INTEGER_TYPES.test(fileType)
  const decimal = fileType.startsWith('DECIMAL(')
  const floating = fileType === 'FLOAT' || fileType === 'DOUBLE'
  const text = fileType === 'VARCHAR'
  switch (column.type.kind) {
    case 'bigint':
    case 'integer':
      return integer || text || /^DECIMAL\(\d+,0\)$/.test(fileType)
    case 'boolean':
      return fileType === 'BOOLEAN' || text
    case 'double':
    case 'numeric':
      return integer || decimal || floating || text
    case 'date':
      return fileType === 'DATE' || text
    case 'timestamp':
      return TIMESTAMP_TYPES.test(fileType) || fileType === 'DATE' || text
    case 'varchar':
    case 'text':
      // Any scalar has a text form; nested and binary values do not have one worth storing.
      return !/[[\]()]|STRUCT|MAP|UNION|BLOB/.test(fileType.replace(/^DECIMAL\(\d+,\d+\)$/, 'DECIMAL'))
  }
}

/** Text into non-text or the reverse: only engines that convert values on load accept it. */
function needsConversion(fileType: string, column: LoaderColumn): boolean {
  const textColumn = column.type.kind === 'varchar' || column.type.kind === 'text'
  return textColumn !== (fileType === 'VARCHAR')
}

/** Counts the rows and every value that would not fit; returns the row count. */
async function checkValues(
  table: LoaderTable,
  url: string,
  path: string,
  fileTypes: ReadonlyMap<string, string>,
  options: InspectOptions,
): Promise<number> {
  const checks = table.columns.map((column) => ({ column, sql: misfitSql(column, fileTypes.get(column.name)!, options.capabilities) }))
  const counts = checks.map((c, i) => `count(*) FILTER (WHERE ${c.sql}) AS ${quoteIdent(`bad_${i}`)}`)
  const from = readParquetSql([path])
  const [row] = await options.db.all<Record<string, string | number>>(`SELECT count(*) AS "rows", ${counts.join(', ')} FROM ${from}`)
  for (const [i, check] of checks.entries()) {
    const bad = Number(row?.[`bad_${i}`] ?? 0)
    if (bad === 0) continue
    const [example] = await options.db.all<{ v: string }>(
      `SELECT CAST(${quoteIdent(check.column.name)} AS VARCHAR) AS v FROM ${from} WHERE ${check.sql} LIMIT 1`,
    )
    const shown = example?.v === undefined ? '' : `, e.g. ${JSON.stringify(example.v.length > 60 ? `${example.v.slice(0, 60)}...` : example.v)}`
    throw new LoaderDataError(
      `Table "${table.name}": ${url} has ${bad} value(s) in column "${check.column.name}" that do not fit ${typeText(check.column, options.capabilities)}${shown}. ` +
        'Widen the column type in the spec or fix the data; nothing was loaded.',
      { context: { table: table.name, column: check.column.name, file: url } },
    )
  }
  return Number(row?.rows ?? 0)
}

function typeText(column: LoaderColumn, capabilities: TableLoadsCapabilities): string {
  const limit = column.type.kind === 'text' ? capabilities.maxTextBytes : undefined
  return limit === undefined ? columnTypeText(column.type) : `text (at most ${limit} bytes on this warehouse)`
}

/**
 * A DuckDB condition true for a value that does not fit the column. TRY_CAST
 * alone is not enough: DuckDB rounds where it can ('1.5' into bigint is 2,
 * 1.2345 into numeric(10,2) is 1.23, nanoseconds are cut to microseconds),
 * so a value also misfits when casting it back to its file type changes it,
 * and text bound for an integer or numeric must be a plain decimal of that scale.
 */
function misfitSql(column: LoaderColumn, fileType: string, capabilities: TableLoadsCapabilities): string {
  const c = quoteIdent(column.name)
  const cast = `TRY_CAST(${c} AS ${duckdbColumnType(column.type)})`
  const lossy = fileType === 'VARCHAR' ? textMisfitSql(c, column) : `CAST(${cast} AS ${fileType}) IS DISTINCT FROM ${c}`
  const castFails = `(${c} IS NOT NULL AND (${cast} IS NULL OR ${lossy}))`
  switch (column.type.kind) {
    case 'varchar': {
      const measure = capabilities.varcharCountsBytes ? 'strlen' : 'length'
      return `(${castFails} OR ${measure}(CAST(${c} AS VARCHAR)) > ${column.type.length} OR contains(CAST(${c} AS VARCHAR), chr(0)))`
    }
    case 'text': {
      // PostgreSQL cannot store NUL in text; no engine loses it silently here. Redshift's text is VARCHAR(65535) bytes.
      const tooLong = capabilities.maxTextBytes === undefined ? '' : ` OR strlen(CAST(${c} AS VARCHAR)) > ${capabilities.maxTextBytes}`
      return `(${castFails} OR contains(CAST(${c} AS VARCHAR), chr(0))${tooLong})`
    }
    default:
      return castFails
  }
}

/**
 * Text whose cast would round: an integer column takes only an optional sign
 * and digits, a numeric column no nonzero digit past its scale. Text into
 * other types (dates, booleans) has many exact spellings, so a failed cast is the test there.
 */
function textMisfitSql(c: string, column: LoaderColumn): string {
  const space = '[ \\t\\n\\r]*'
  switch (column.type.kind) {
    case 'bigint':
    case 'integer':
      return `NOT regexp_full_match(${c}, ${quoteLiteral(`${space}[+-]?[0-9]+${space}`)})`
    case 'numeric':
      return `NOT regexp_full_match(${c}, ${quoteLiteral(`${space}[+-]?([0-9]+(\\.[0-9]{0,${column.type.scale}}0*)?|\\.[0-9]{0,${column.type.scale}}0*)${space}`)})`
    default:
      return 'false'
  }
}

async function checkMergeKey(table: LoaderTable, files: readonly TableLoadFile[], db: DuckDb): Promise<void> {
  const key = table.key.map(quoteIdent)
  const from = readParquetSql(files.map((f) => f.localPath))
  const [row] = await db.all<{ nulls: string | number; dups: string | number }>(
    `SELECT count(*) FILTER (WHERE ${key.map((k) => `${k} IS NULL`).join(' OR ')}) AS nulls, ` +
      `count(*) - count(DISTINCT (${key.join(', ')})) AS dups FROM ${from}`,
  )
  const nulls = Number(row?.nulls ?? 0)
  const dups = Number(row?.dups ?? 0)
  if (nulls > 0 || dups > 0) {
    const problem = nulls > 0 ? `${nulls} row(s) with a null key` : `${dups} row(s) repeating a key`
    throw new LoaderDataError(
      `Table "${table.name}": merge key (${table.key.join(', ')}) has ${problem} in the files under ${table.prefix}. ` +
        'A merge needs one row per key; fix the data or the key; nothing was loaded.',
      { context: { table: table.name } },
    )
  }
}

function fingerprint(table: LoaderTable, files: readonly TableLoadFile[]): string {
  const hash = createHash('sha256')
  hash.update(JSON.stringify({ prefix: table.prefix, mode: table.mode, key: table.key, columns: table.columns }))
  for (const f of files) hash.update(`\n${f.key}\t${f.size}\t${f.sha256}`)
  return hash.digest('hex')
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}

function names(list: readonly string[]): string {
  return list.map((n) => `"${n}"`).join(', ')
}
