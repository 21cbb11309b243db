/**
 * Noticing rows that changed without their watermark moving (ToteSys edits
 * design rows in place and leaves last_updated alone). Periodically every
 * row of the small tables is hashed in the source and compared with the
 * hashes recorded at the previous reconciliation: a row whose hash changed
 * although its watermark is older than the run's window is re-extracted.
 * A row that appeared with an old watermark (a commit later than the lag
 * allowed for) is caught the same way.
 */
import type { SourceSnapshot } from './source.js'

export interface ReconciledTable {
  readonly table: string
  /** Rows hashed. */
  readonly rows: number
  /** Keys of rows changed (or added) behind the watermark: to extract again. */
  readonly changedKeys: readonly string[]
  /** Keys present at the previous reconciliation and gone now (reported; deletes are not propagated). */
  readonly deletedKeys: readonly string[]
  /** The new baseline, `key,md5` lines sorted by key. */
  readonly hashesCsv: string
}

export interface ReconcileTableOptions {
  readonly table: string
  readonly primaryKey: string
  readonly watermarkColumn: string
  readonly columns: readonly string[]
  /** Rows whose watermark is above this were or will be taken by the window itself. */
  readonly settledUpTo: string | null
  /** The previous baseline; undefined on the first reconciliation (nothing to compare with). */
  readonly previous: ReadonlyMap<string, string> | undefined
}

export async function reconcileTable(snapshot: SourceSnapshot, options: ReconcileTableOptions): Promise<ReconciledTable> {
  const rows = await snapshot.hashRows(
    { name: options.table, primaryKey: options.primaryKey, watermarkColumn: options.watermarkColumn, columns: options.columns },
    options.settledUpTo,
  )
  const changedKeys: string[] = []
  const seen = new Set<string>()
  for (const row of rows) {
    seen.add(row.key)
    if (options.previous !== undefined && row.settled && options.previous.get(row.key) !== row.md5) changedKeys.push(row.key)
  }
  const deletedKeys = options.previous === undefined ? [] : [...options.previous.keys()].filter((key) => !seen.has(key))
  return {
    table: options.table,
    rows: rows.length,
    changedKeys,
    deletedKeys,
    hashesCsv: rows.map((row) => `${row.key},${row.md5}\n`).join(''),
  }
}

export function parseHashes(csv: string): Map<string, string> {
  const hashes = new Map<string, string>()
  for (const line of csv.split('\n')) {
    const comma = line.lastIndexOf(',')
    if (comma > 0) hashes.set(line.slice(0, comma), line.slice(comma + 1))
  }
  return hashes
}
