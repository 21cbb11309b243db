/**
 * A source table's rows as the models may see them: each file read as text
 * (see csv-reading.ts), every value cast to its column's type, and each row
 * given the reasons it is bad (a value of the wrong type, a missing value,
 * an infinite date, a failed dataset check, a record DuckDB could not read).
 * Good rows go on to the models; bad ones to a quarantine file.
 */
import { join } from 'node:path'
import type { ManifestColumn } from '../lake/manifest.js'
import type { RowCheck } from '../schema/dataset.js'
import { quoteIdent, quoteLiteral } from '../sql/quote.js'
import type { DuckDb } from '../engines/duckdb/duckdb-engine.js'
import { duckdbTypeForPostgres } from './source-types.js'
import {
  freeName,
  knownLongestRecord,
  longestRecordBytes,
  needsLongerRecords,
  readCsvAsText,
  rememberLongestRecord,
  CLEAR_REJECTS_SQL,
  UNREADABLE_RECORDS_SQL,
  unreadableReason,
  type UnreadableRecord,
} from './csv-reading.js'

/** One CSV file of a source table, with the columns it was written with. */
export interface SourceFile {
  /** Its key in the ingestion zone (named in quarantine records). */
  readonly key: string
  readonly path: string
  readonly runId: string
  readonly columns: readonly ManifestColumn[]
  /** Its SHA-256 from the manifest; what facts measured about the file are remembered by. */
  readonly sha256?: string
}

/** Rows of one source table that failed validation in this run. */
export interface QuarantineOutput {
  readonly table: string
  readonly sourceKey: string
  readonly rows: number
  /** A CSV file: reason, source_key, then the row's columns as they arrived. */
  readonly path: string
}

/**
 * Names the checked relation adds to a table's columns, chosen so that no
 * column of the table (in any of its files) has them: a source column named
 * `_reasons` pushes the name to `__reasons`.
 */
export interface InternalNames {
  /** Which file a row came from. */
  readonly file: string
  /** The row as text, as it arrived. */
  readonly raw: string
  /** Why the row is bad; empty when it is good. */
  readonly reasons: string
  /** read_csv's own file name column, before it becomes `file`. */
  readonly filename: string
}

export function internalNames(columnLists: readonly (readonly ManifestColumn[])[]): InternalNames {
  const taken = columnLists.flatMap((columns) => columns.map((c) => c.name))
  return { file: freeName('_file', taken), raw: freeName('_raw', taken), reasons: freeName('_reasons', taken), filename: freeName('_filename', taken) }
}

/**
 * The files' rows with typed columns, plus the internal columns (which file,
 * the text as it arrived, why the row is bad). Files are read as text and
 * cast here, so one bad value fails one row, not the run. Types are those of
 * `columns` (the newest the lake knows). Records DuckDB cannot read at all
 * are stored as rejects ('store', for setAsideUnreadable) or skipped ('skip':
 * they were quarantined when their run was transformed).
 */
export async function checkedRelation(
  files: readonly SourceFile[],
  columns: readonly ManifestColumn[],
  checks: readonly RowCheck[],
  internal: InternalNames,
  unreadable: 'store' | 'skip',
  longest?: number,
): Promise<string> {
  const reads = []
  for (const group of groupByColumns(files)) {
    // Records skipped in a history read would drop out of the current state: measure what is not known.
    const longestRecord = longest ?? Math.max(...(await Promise.all(group.map((f) => knownLongestRecord(f, unreadable === 'skip')))))
    reads.push(`SELECT * FROM ${readCsvAsText(group, { longestRecord, unreadable, fileColumn: internal.filename })}`)
  }
  const raw = reads.join(' UNION ALL BY NAME ')
  const [file, rawRow, reasonsColumn] = [quoteIdent(internal.file), quoteIdent(internal.raw), quoteIdent(internal.reasons)]
  const typed = columns.map((c) => {
    const type = duckdbTypeForPostgres(c.type)
    return type === 'VARCHAR' ? quoteIdent(c.name) : `TRY_CAST(${quoteIdent(c.name)} AS ${type}) AS ${quoteIdent(c.name)}`
  })
  const reasons = [
    ...columns.map((c) => {
      const type = duckdbTypeForPostgres(c.type)
      const name = quoteIdent(c.name)
      const badType =
        type === 'VARCHAR' ? undefined : `WHEN ${rawRow}.${name} IS NOT NULL AND ${name} IS NULL THEN ${quoteLiteral(`${c.name} is not a valid ${c.type}: `)} || ${rawRow}.${name}`
      // A column added to the source after a file was written is absent from that file, not null in it.
      const without = files.filter((f) => !f.columns.some((column) => column.name === c.name)).map((f) => quoteLiteral(f.path))
      const written = without.length > 0 ? ` AND ${file} NOT IN (${without.join(', ')})` : ''
      const missing = c.nullable ? undefined : `WHEN ${rawRow}.${name} IS NULL${written} THEN ${quoteLiteral(`${c.name} is null`)}`
      // PostgreSQL's and DuckDB's 'infinity' casts, but no calendar holds it: it fails its row, not the run.
      const infinite = /^(DATE|TIMESTAMP|TIMESTAMPTZ)$/.test(type) ? `WHEN isinf(${name}) THEN ${quoteLiteral(`${c.name} is not a finite ${c.type}`)}` : undefined
      // PostgreSQL text never holds NUL, and no warehouse takes it: a file that does was not written by the source.
      const nul = type === 'VARCHAR' ? `WHEN contains(${name}, chr(0)) THEN ${quoteLiteral(`${c.name} holds a NUL character`)}` : undefined
      const cases = [missing, badType, infinite, nul].filter(Boolean)
      return cases.length > 0 ? `CASE ${cases.join(' ')} END` : undefined
    }),
    ...checks.map((check) => `CASE WHEN (${check.failsWhen}) THEN ${quoteLiteral(check.reason)} END`),
  ].filter((r): r is string => r !== undefined)
  // The text of a row is kept only when the row is bad (for its quarantine record): good rows
  // would otherwise be held twice.
  return (
    `SELECT * EXCLUDE (${rawRow}), CASE WHEN len(${reasonsColumn}) > 0 THEN ${rawRow} END AS ${rawRow} FROM (` +
    `SELECT *, list_filter([${reasons.join(', ')}]::VARCHAR[], r -> r IS NOT NULL) AS ${reasonsColumn} FROM (` +
    `SELECT ${typed.join(', ')}, raw.${quoteIdent(internal.filename)} AS ${file}, raw AS ${rawRow} FROM (${raw}) raw))`
  )
}

/**
 * The run's rows of one table, checked, as the view `checked` (unquoted
 * name). Read first at the limit known for the file (DuckDB's default for a
 * new one: measuring costs a pass over the file); when DuckDB reports
 * records longer than that, the file is measured and read again with a
 * limit that fits. Records DuckDB still cannot read become rows of the
 * checked relation with only a reason (their values stay in the ingestion
 * file, which the reason points into), so they are quarantined like any bad
 * row.
 *
 * NOTE: the rows go to a Parquet file at `path`, not to a DuckDB table: an
 * in-memory table of the largest source table held 466 MB at scale 100
 * (1.6M payments) and grew with every scale, spilling uncompressed past the
 * memory limit; the file streams out with bounded memory, takes about a
 * tenth of that on disk, and every reader after it streams too.
 */
export async function createChecked(
  db: DuckDb,
  checked: string,
  file: SourceFile,
  columns: readonly ManifestColumn[],
  checks: readonly RowCheck[],
  internal: InternalNames,
  path: string,
): Promise<void> {
  const read = async (longest: number): Promise<UnreadableRecord[]> => {
    for (const sql of CLEAR_REJECTS_SQL) await db.run(sql)
    const relation = await checkedRelation([file], columns, checks, internal, 'store', longest)
    await db.run(`COPY (${relation}) TO ${quoteLiteral(path)} (${SCRATCH_PARQUET})`)
    return db.all<UnreadableRecord>(UNREADABLE_RECORDS_SQL)
  }
  const known = await knownLongestRecord(file, false)
  let unreadable = await read(known)
  if (known === 0 && needsLongerRecords(unreadable)) {
    const longest = await longestRecordBytes(file.path)
    rememberLongestRecord(file, longest)
    unreadable = await read(longest)
  } else {
    rememberLongestRecord(file, known)
  }
  const rows = `SELECT * FROM read_parquet(${quoteLiteral(path)})`
  if (unreadable.length === 0) {
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(checked)} AS ${rows}`)
    return
  }
  // Rare (a damaged file): a small table beside the file, with the file's columns.
  const unreadableTable = quoteIdent(`${checked}_unreadable`)
  await db.run(`CREATE OR REPLACE TABLE ${unreadableTable} AS ${rows} LIMIT 0`)
  for (const record of unreadable) {
    await db.run(`INSERT INTO ${unreadableTable} (${quoteIdent(internal.file)}, ${quoteIdent(internal.reasons)}) VALUES ($1, [$2])`, [record.file, unreadableReason(record)])
  }
  await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(checked)} AS ${rows} UNION ALL BY NAME SELECT * FROM ${unreadableTable}`)
}

/**
 * Parquet options for files the transform writes for itself and reads back
 * at once: fast compression, and row groups a quarter of DuckDB's default,
 * because the writer holds one open row group per thread and these rows are
 * wide (every column typed, plus the row as text for bad rows).
 */
const SCRATCH_PARQUET = 'FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 30720'

/** Writes the run's bad rows of one table to a CSV file; undefined when every row passed. */
export async function writeQuarantine(
  db: DuckDb,
  checked: string,
  table: string,
  file: SourceFile,
  outputDir: string,
  internal: InternalNames,
): Promise<QuarantineOutput | undefined> {
  const [rawRow, reasons] = [quoteIdent(internal.raw), quoteIdent(internal.reasons)]
  const [{ rows }] = (await db.all<{ rows: string }>(`SELECT count(*)::varchar AS rows FROM ${checked} WHERE len(${reasons}) > 0`)) as [{ rows: string }]
  if (Number(rows) === 0) return undefined
  const path = join(outputDir, `_quarantine_${table}.csv`)
  const rawColumns = file.columns.map((c) => `${rawRow}.${quoteIdent(c.name)} AS ${quoteIdent(c.name)}`).join(', ')
  await db.run(
    `COPY (SELECT array_to_string(${reasons}, '; ') AS reason, ${quoteLiteral(file.key)} AS source_key, ${rawColumns} ` +
      `FROM ${checked} WHERE len(${reasons}) > 0) TO ${quoteLiteral(path)} (FORMAT csv, HEADER true)`,
  )
  return { table, sourceKey: file.key, rows: Number(rows), path }
}

function groupByColumns(files: readonly SourceFile[]): SourceFile[][] {
  const groups = new Map<string, SourceFile[]>()
  for (const file of files) {
    const signature = JSON.stringify(file.columns.map((c) => [c.name, c.type]))
    groups.set(signature, [...(groups.get(signature) ?? []), file])
  }
  return [...groups.values()]
}
