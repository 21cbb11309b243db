/**
 * The Parquet loader's spec: which Parquet prefixes load into which tables of
 * one warehouse schema, how (truncate, append, merge on a key) and with which
 * column types. Parsed and validated here once; every error names the table,
 * column or field to fix.
 */
import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { messageOf } from '../core/starline-error.js'
import { LOAD_MODES, type LoadMode, type LoaderColumn, type LoaderColumnType } from '../schema/parquet-table.js'
import { LoaderSpecError } from './errors.js'

export interface LoaderTable {
  readonly name: string
  /** Absolute `file://` or `s3://` URL of the table's folder, ending in `/`. */
  readonly prefix: string
  readonly mode: LoadMode
  /** Merge key columns (merge mode only). */
  readonly key: readonly string[]
  readonly columns: readonly LoaderColumn[]
  /**
   * A marker file producers write when a dataset is complete (Spark's
   * `_SUCCESS`). When set, an S3 event loads the table only for this marker,
   * never for a part file written before it.
   */
  readonly marker?: string
}

export interface LoaderSpec {
  readonly schema: string
  readonly tables: readonly LoaderTable[]
}

/** Numeric precision DuckDB (which checks and converts the values) can hold. */
const MAX_PRECISION = 38
/** PostgreSQL's and Redshift's varchar limit. */
const MAX_VARCHAR = 65535

/** Reads and validates a spec file; relative prefixes resolve against its directory. */
export async function readLoaderSpec(file: string): Promise<LoaderSpec> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new LoaderSpecError(`Cannot read the loader spec "${file}": ${messageOf(error)}. Check the --spec path.`, { cause: error })
  }
  return parseLoaderSpec(text, { baseDir: dirname(resolve(file)), source: file })
}

/**
 * Parses a spec from JSON text. `baseDir` resolves relative prefixes (the
 * spec file's directory; the working directory for an inline spec).
 */
export function parseLoaderSpec(text: string, options: { readonly baseDir: string; readonly source?: string }): LoaderSpec {
  const where = options.source ? `the loader spec "${options.source}"` : 'the loader spec'
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new LoaderSpecError(`Cannot parse ${where}: ${messageOf(error)}. Fix the JSON.`, { cause: error })
  }
  const fail = (path: string, problem: string): never => {
    throw new LoaderSpecError(`Invalid ${where}: ${path} ${problem}.`, { context: { field: path } })
  }
  if (!isObject(raw)) return fail('the top level', 'must be an object with "schema" and "tables"')
  const schema = name(raw.schema, '"schema"', fail)
  if (!Array.isArray(raw.tables) || raw.tables.length === 0) return fail('"tables"', 'must be a non-empty array')
  const seen = new Set<string>()
  const tables = raw.tables.map((entry: unknown, index: number) => {
    const table = parseTable(entry, `tables[${index}]`, options.baseDir, fail)
    if (seen.has(table.name)) fail(`table "${table.name}"`, 'appears twice')
    seen.add(table.name)
    return table
  })
  return Object.freeze({ schema, tables: Object.freeze(tables) })
}

type Fail = (path: string, problem: string) => never

function parseTable(raw: unknown, at: string, baseDir: string, fail: Fail): LoaderTable {
  if (!isObject(raw)) return fail(at, 'must be an object')
  const tableName = name(raw.name, `${at}.name`, fail)
  const here = `table "${tableName}"`
  const mode = raw.mode ?? 'truncate'
  if (typeof mode !== 'string' || !(LOAD_MODES as readonly string[]).includes(mode)) {
    return fail(`${here} "mode"`, `must be one of ${LOAD_MODES.join(', ')} (got ${JSON.stringify(mode)})`)
  }
  if (!Array.isArray(raw.columns) || raw.columns.length === 0) return fail(`${here} "columns"`, 'must be a non-empty array')
  const columns = raw.columns.map((column: unknown, index: number) => parseColumn(column, `${here} columns[${index}]`, fail))
  const names = new Set<string>()
  for (const column of columns) {
    if (names.has(column.name)) fail(`${here} column "${column.name}"`, 'appears twice')
    names.add(column.name)
  }
  let key: string[] = []
  if (mode === 'merge') {
    if (!Array.isArray(raw.key) || raw.key.length === 0) return fail(`${here} "key"`, 'must list the merge key columns in merge mode')
    key = raw.key.map((k: unknown, index: number) => name(k, `${here} key[${index}]`, fail))
    for (const k of key) if (!names.has(k)) fail(`${here} key column "${k}"`, 'is not one of its columns')
  } else if (raw.key !== undefined) {
    return fail(`${here} "key"`, `is only for merge mode (mode is ${mode})`)
  }
  const marker = raw.marker
  if (marker !== undefined && (typeof marker !== 'string' || marker === '' || marker.includes('/'))) {
    return fail(`${here} "marker"`, 'must be a file name such as "_SUCCESS"')
  }
  return Object.freeze({
    name: tableName,
    prefix: prefixUrl(raw.prefix, `${here} "prefix"`, baseDir, fail),
    mode: mode as LoadMode,
    key: Object.freeze(key),
    columns: Object.freeze(columns),
    ...(marker === undefined ? {} : { marker: marker as string }),
  })
}

function parseColumn(raw: unknown, at: string, fail: Fail): LoaderColumn {
  if (!isObject(raw)) return fail(at, 'must be an object with "name" and "type"')
  const columnName = name(raw.name, `${at}.name`, fail)
  if (typeof raw.type !== 'string') return fail(`column "${columnName}" "type"`, 'must be a string such as "bigint"')
  return Object.freeze({ name: columnName, type: parseColumnType(raw.type, `column "${columnName}" type`, fail) })
}

/** `varchar(600)` -> `{kind: 'varchar', length: 600}`; the accepted spellings are listed in the error. */
export function parseColumnType(text: string, at = 'type', fail: Fail = defaultFail): LoaderColumnType {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ')
  const simple: Record<string, LoaderColumnType['kind']> = {
    bigint: 'bigint', int8: 'bigint', integer: 'integer', int: 'integer', int4: 'integer',
    boolean: 'boolean', bool: 'boolean', 'double precision': 'double', float: 'double', float8: 'double',
    text: 'text', date: 'date', timestamp: 'timestamp', 'timestamp without time zone': 'timestamp',
  }
  const kind = simple[t]
  if (kind) return { kind } as LoaderColumnType
  const varchar = /^(?:varchar|character varying) ?\( ?(\d+) ?\)$/.exec(t)
  if (varchar) {
    const length = Number(varchar[1])
    if (length < 1 || length > MAX_VARCHAR) return fail(at, `"${text}" needs a length from 1 to ${MAX_VARCHAR}`)
    return { kind: 'varchar', length }
  }
  const numeric = /^(?:numeric|decimal) ?\( ?(\d+) ?(?:, ?(\d+) ?)?\)$/.exec(t)
  if (numeric) {
    const precision = Number(numeric[1])
    const scale = Number(numeric[2] ?? 0)
    if (precision < 1 || precision > MAX_PRECISION || scale > precision) {
      return fail(at, `"${text}" needs 1 <= precision <= ${MAX_PRECISION} and scale <= precision`)
    }
    return { kind: 'numeric', precision, scale }
  }
  return fail(
    at,
    `"${text}" is not supported: use bigint, integer, boolean, double precision (float), numeric(p,s), varchar(n), text, date or timestamp`,
  )
}

function prefixUrl(raw: unknown, at: string, baseDir: string, fail: Fail): string {
  if (typeof raw !== 'string' || raw.trim() === '') return fail(at, 'must be a file:// or s3:// URL or a path relative to the spec file')
  let url: string
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    const scheme = raw.slice(0, raw.indexOf(':')).toLowerCase()
    if (scheme !== 'file' && scheme !== 's3') return fail(at, `has scheme "${scheme}:": use file:// or s3://`)
    if (scheme === 's3' && !/^s3:\/\/[^/]+/i.test(raw)) return fail(at, 'must name a bucket: s3://bucket/path/')
    url = raw
  } else {
    url = pathToFileURL(isAbsolute(raw) ? raw : resolve(baseDir, raw)).href
  }
  return url.endsWith('/') ? url : `${url}/`
}

function name(raw: unknown, at: string, fail: Fail): string {
  if (typeof raw !== 'string' || raw.length === 0) return fail(at, 'must be a non-empty string')
  if (raw.includes('\0') || raw.length > 127) return fail(at, 'must be at most 127 characters without NUL')
  return raw
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function defaultFail(path: string, problem: string): never {
  throw new LoaderSpecError(`Invalid loader spec: ${path} ${problem}.`)
}
