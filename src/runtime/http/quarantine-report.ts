/**
 * The one panel not answered by SQL: rows the transform quarantined never
 * reach the warehouse, so their counts live only in the processed zone's
 * run manifests. Read through the ObjectStore contract, so it works the same
 * on a filesystem or an S3 lake.
 */
import { listRunIds, readManifest } from '../../lake/manifest.js'
import type { ObjectStore } from '../../lake/object-store.js'
import type { ChartResult, ChartRow } from './dashboard-reader.js'

/** Manifests read per refresh at most: the newest runs are the ones an operator acts on. */
export const QUARANTINE_RUNS = 50

const COLUMNS = ['run_id', 'source_table', 'rows', 'key'] as const

/** Quarantined rows per transform run and source table, newest run first, as text like a chart's rows. */
export async function readQuarantine(processed: ObjectStore, runs = QUARANTINE_RUNS): Promise<ChartResult> {
  const runIds = (await listRunIds(processed)).slice(-runs).reverse()
  const rows: ChartRow[] = []
  for (const runId of runIds) {
    const { manifest } = await readManifest(processed, runId)
    for (const table of manifest.quarantine ?? []) {
      rows.push({ run_id: runId, source_table: table.table, rows: String(table.rows), key: table.key })
    }
  }
  return { columns: COLUMNS, rows }
}
