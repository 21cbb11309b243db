/**
 * Support for the Parquet loader tests: the Twitter sample in a temp dir,
 * specs derived from it, and every table's rows as text, read from the
 * Parquet files by DuckDB (the expected side) or from a warehouse.
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTwitterSample, type TwitterSampleSummary } from '../../src/datasets/twitter/twitter-sample.js'
import { openDuckDb } from '../../src/engines/duckdb/duckdb-engine.js'
import { parquetSelectSql } from '../../src/engines/duckdb/parquet-select.js'
import { listAll } from '../../src/lake/object-store.js'
import { openObjectStore } from '../../src/lake/open-object-store.js'
import { isMarkerKey } from '../../src/loader/parquet-files.js'
import { parseLoaderSpec, type LoaderSpec, type LoaderTable } from '../../src/loader/loader-spec.js'
import { duckdbColumnType } from '../../src/schema/parquet-table.js'
import { quoteIdent } from '../../src/sql/quote.js'

/** Each table's sort key, so rows compare in one order. */
export const TWITTER_KEYS = { users: 'user_id', user_followers: 'user_id', tweets: 'id' } as const

export type TextRow = readonly (string | null)[]

/** A fresh copy of the sample (tests may add files to it). */
export async function twitterSample(rows = 300): Promise<TwitterSampleSummary> {
  return writeTwitterSample(mkdtempSync(join(tmpdir(), 'starline-twitter-')), { rows })
}

/** The sample's spec, with `edit` applied to its JSON first. */
export function twitterSpec(sample: TwitterSampleSummary, edit: (raw: { schema: string; tables: Record<string, unknown>[] }) => void = () => {}): LoaderSpec {
  const raw = JSON.parse(readFileSync(sample.specFile, 'utf8'))
  edit(raw)
  return parseLoaderSpec(JSON.stringify(raw), { baseDir: sample.dir })
}

/** Copies a sample's table folder to a new one (for append and merge runs with other files). */
export function copyTableDir(sample: TwitterSampleSummary, table: string, to: string): string {
  const target = join(sample.dir, 'data', to)
  cpSync(join(sample.dir, 'data', table), target, { recursive: true })
  return target
}

/**
 * A table's rows as DuckDB reads them from its Parquet files, each value cast
 * to the column's type and then to text (the warehouse side is compared as text too).
 */
export async function expectedRows(table: LoaderTable): Promise<TextRow[]> {
  const store = openObjectStore(table.prefix)
  const keys = (await listAll(store, '')).map((o) => o.key).filter((k) => !isMarkerKey(k))
  const paths = await Promise.all(keys.map((k) => store.localPath(k, tmpdir())))
  const db = await openDuckDb({ scratchDir: tmpdir() })
  try {
    await db.run("SET TimeZone = 'UTC'")
    const columns = table.columns.map((c) => `CAST(${quoteIdent(c.name)} AS VARCHAR) AS ${quoteIdent(c.name)}`)
    const key = TWITTER_KEYS[table.name as keyof typeof TWITTER_KEYS] ?? table.columns[0]!.name
    const rows = await db.all<Record<string, string | null>>(
      `SELECT ${columns.join(', ')} FROM (${parquetSelectSql(table.columns, paths)}) ORDER BY CAST(${quoteIdent(key)} AS ${duckdbColumnType(table.columns.find((c) => c.name === key)!.type)})`,
    )
    return normalizeRows(table, rows.map((r) => table.columns.map((c) => r[c.name] ?? null)))
  } finally {
    db.close()
  }
}

/**
 * Doubles print differently per engine (`44.0` in DuckDB, `44` in
 * PostgreSQL): both are shortest round-trip forms, so they compare as JS numbers.
 */
export function normalizeRows(table: LoaderTable, rows: readonly TextRow[]): TextRow[] {
  const doubles = table.columns.map((c) => c.type.kind === 'double')
  return rows.map((row) => row.map((v, i) => (doubles[i] && v !== null ? String(Number(v)) : v)))
}
