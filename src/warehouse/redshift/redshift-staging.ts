/**
 * Bytes in: Redshift reads each run's Parquet straight from S3 with
 * `COPY ... IAM_ROLE ... FORMAT AS PARQUET MANIFEST`, through a COPY
 * manifest that lists exactly that run's file (a prefix could pick up a
 * stray or a later run's object). The manifest is written into the
 * processed zone under the reserved `_copy/` prefix.
 *
 * Stages are ordinary tables named after the run, not TEMP tables: the
 * Data API opens a new session per call, and a temporary table would be
 * gone before the merge. They are dropped once the run commits (and any
 * left by a crashed attempt are dropped before the next COPY).
 */
import { withoutValues } from '../../core/driver-message.js'
import type { ManifestColumn } from '../../lake/manifest.js'
import { ObjectExistsError } from '../../lake/errors.js'
import type { ObjectStore } from '../../lake/object-store.js'
import { qualify, quoteIdent, quoteRedshiftLiteral } from '../../sql/quote.js'
import type { ColumnType, TableSpec } from '../../schema/table-spec.js'
import { WarehouseLoadError } from '../errors.js'
import { redshiftType } from './redshift-ddl.js'
import type { Statement, TextRow } from './redshift-session.js'

export const COPY_PREFIX = '_copy/'

/** `_copy/<runId>/<table>.manifest`: one COPY manifest per table of a run. */
export function copyManifestKey(runId: string, table: string, prefix = COPY_PREFIX): string {
  return `${prefix}${runId}/${table}.manifest`
}

/** A run's staging table for `spec` (in the target schema; Redshift folds the name to lower case). */
export function stageTable(schema: string, runId: string, spec: TableSpec): string {
  return qualify(schema, `_starline_stage_${runId.toLowerCase()}_${spec.name}`)
}

export interface CopyFile {
  /** `s3://bucket/key` of a Parquet object. */
  readonly url: string
  readonly bytes: number
}

/**
 * The COPY manifest's JSON. `mandatory` makes a missing file fail the COPY
 * instead of loading less; Parquet (a columnar format) requires
 * `meta.content_length`, the object's exact size.
 */
export function copyManifestJson(files: readonly CopyFile[]): string {
  const entries = files.map((f) => ({ url: f.url, mandatory: true, meta: { content_length: f.bytes } }))
  return `${JSON.stringify({ entries }, null, 2)}\n`
}

/**
 * Writes the COPY manifest. Objects are immutable: a manifest left by an
 * earlier attempt of the same run is reused when it says the same thing.
 */
export async function writeCopyManifest(store: ObjectStore, key: string, body: string): Promise<void> {
  try {
    await store.put(key, body)
  } catch (error) {
    if (!(error instanceof ObjectExistsError)) throw error
    const existing = (await store.getBytes(key)).toString('utf8')
    if (existing !== body) {
      throw new WarehouseLoadError(
        `The COPY manifest "${key}" in ${store.root} lists other files than this load needs. Remove it (it is not part of any run) and load again.`,
        { context: { key } },
      )
    }
  }
}

/**
 * Redshift reads the object itself, so starline never holds its bytes to
 * hash them: it checks what the store says of the object (its size, and its
 * SHA-256 where the store records one) against the processed manifest.
 */
export async function checkPublishedObject(store: ObjectStore, runId: string, spec: TableSpec, key: string, bytes?: number, sha256?: string): Promise<void> {
  const info = await store.head(key)
  const problem =
    info === undefined
      ? 'is missing'
      : bytes !== undefined && info.size !== bytes
        ? `holds ${info.size} bytes where its manifest says ${bytes}`
        : sha256 && info.sha256 && info.sha256 !== sha256
          ? 'has a SHA-256 that differs from its manifest'
          : undefined
  if (problem !== undefined) {
    throw new WarehouseLoadError(
      `Cannot load run ${runId} into "${spec.name}": "${key}" in ${store.root} ${problem}; it was changed after it was published. ` +
        'Restore it from a backup (or a previous version of the bucket), or transform the run again.',
      { context: { runId, table: spec.name, key } },
    )
  }
}

/** Drops a leftover stage, then creates it with the file's columns in file order (COPY maps Parquet by position). */
export function createStageSql(schema: string, runId: string, spec: TableSpec, options: { readonly attributes?: boolean } = {}): string[] {
  const stage = stageTable(schema, runId, spec)
  const columns = spec.columns.map((c) => `  ${quoteIdent(c.name)} ${redshiftType(c.type)}`).join(',\n')
  // BACKUP NO: a stage lives minutes and need not be in snapshots. Fact stages share the
  // fact's distribution key, so the append moves no rows between nodes.
  const distKey = spec.kind === 'fact' && spec.naturalKey?.[0] ? ` DISTKEY (${quoteIdent(spec.naturalKey[0])})` : ''
  const attributes = options.attributes === false ? '' : ` BACKUP NO${distKey}`
  return [`DROP TABLE IF EXISTS ${stage}`, `CREATE TABLE ${stage} (\n${columns}\n)${attributes}`]
}

/** The COPY of one table's run file into its stage (Redshift-only: PostgreSQL has no COPY from S3). */
export function copySql(schema: string, runId: string, spec: TableSpec, manifestUrl: string, iamRole: string): string {
  return `COPY ${stageTable(schema, runId, spec)} FROM ${quoteRedshiftLiteral(manifestUrl)} IAM_ROLE ${quoteRedshiftLiteral(iamRole)} FORMAT AS PARQUET MANIFEST`
}

export function countStageSql(schema: string, runId: string, spec: TableSpec): string {
  return `SELECT count(*)::varchar AS "rows" FROM ${stageTable(schema, runId, spec)}`
}

export function dropStageSql(schema: string, runId: string, spec: TableSpec): string {
  return `DROP TABLE IF EXISTS ${stageTable(schema, runId, spec)}`
}

/** Parquet type names as DuckDB (the transform) records them, per logical type. */
const FILE_TYPES: Record<string, readonly string[]> = {
  integer: ['INTEGER', 'INT', 'INT32'],
  bigint: ['BIGINT', 'INT64'],
  text: ['VARCHAR', 'STRING', 'TEXT'],
  varchar: ['VARCHAR', 'STRING', 'TEXT'],
  date: ['DATE'],
  time: ['TIME'],
  timestamp: ['TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS'],
  boolean: ['BOOLEAN', 'BOOL'],
  double: ['DOUBLE', 'FLOAT8'],
}

function fileTypeMatches(expected: ColumnType, actual: string): boolean {
  const type = actual.toUpperCase().replaceAll(' ', '')
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(expected)
  if (decimal) return type === `DECIMAL(${decimal[1]},${decimal[2]})` || type === `NUMERIC(${decimal[1]},${decimal[2]})`
  return FILE_TYPES[expected]?.includes(type) ?? false
}

/**
 * Parquet COPY maps columns by position, so a file with columns in another
 * order would load values into the wrong columns without an error. The
 * processed manifest records each file's columns: compare them, name by
 * name and type by type, before any COPY.
 */
export function checkFileColumns(runId: string, spec: TableSpec, key: string, columns: readonly ManifestColumn[] | undefined): void {
  const mismatch = (problem: string) =>
    new WarehouseLoadError(
      `Cannot load run ${runId} into "${spec.name}": the file "${key}" ${problem}. Redshift's Parquet COPY maps columns by position, ` +
        'so nothing was copied. Transform the run again with this version of starline, or fix the table spec.',
      { context: { runId, table: spec.name, key } },
    )
  if (columns === undefined) throw mismatch('has no column list in its processed manifest')
  const expected = spec.columns.map((c) => `${c.name} ${c.type}`).join(', ')
  const actual = columns.map((c) => `${c.name} ${c.type}`).join(', ')
  if (columns.length !== spec.columns.length) throw mismatch(`has columns (${actual}) but the table loads (${expected})`)
  spec.columns.forEach((column, i) => {
    const file = columns[i]!
    if (file.name !== column.name) throw mismatch(`has "${file.name}" as column ${i + 1} where the table has "${column.name}" (file: ${actual})`)
    if (!fileTypeMatches(column.type, file.type)) throw mismatch(`has column "${file.name}" as ${file.type}, but the table's is ${column.type}`)
  })
}

/**
 * What Redshift recorded about rows a COPY rejected (sys_load_error_detail:
 * Serverless and provisioned), newest first, for the run's files only.
 */
export function loadErrorsSql(fileUrls: readonly string[]): Statement {
  const params = Object.fromEntries(fileUrls.map((url, i) => [`file_${i}`, url]))
  const list = fileUrls.map((_, i) => `:file_${i}`).join(', ')
  return {
    sql:
      'SELECT trim(file_name) AS file_name, line_number::varchar AS line_number, trim(column_name) AS column_name, ' +
      'trim(column_type) AS column_type, error_code::varchar AS error_code, trim(error_message) AS error_message ' +
      `FROM sys_load_error_detail WHERE trim(file_name) IN (${list}) ORDER BY start_time DESC LIMIT 10`,
    params,
  }
}

/** One line per rejected row, for the error message. */
export function describeLoadErrors(rows: readonly TextRow[]): string {
  return rows
    .map((r) => `${r.file_name} line ${r.line_number}, column "${r.column_name}" (${r.column_type}): ${withoutValues(String(r.error_message))} [error ${r.error_code}]`)
    .join('; ')
}
