/**
 * The dashboard's freshness verdict, with the one definition `starline
 * status` and the freshness alert use: the pipeline's lag (how long the
 * oldest source change not yet in the warehouse has waited, from the lake's
 * manifests and failure records and the warehouse's ledger) against
 * STARLINE_FRESHNESS_TARGET. The SQL behind the freshness panel gives each
 * table's last load and its age; this adds the lag and the verdict.
 */
import type { ObjectStore } from '../../lake/object-store.js'
import { collectStatus, type LedgerReader } from '../../observe/status.js'
import type { Dataset } from '../../schema/dataset.js'
import type { ChartResult, DashboardReader } from './dashboard-reader.js'

/** One warehouse table's lag and whether it is within the target. */
export interface TableFreshness {
  readonly table: string
  readonly lagMs: number
  readonly fresh: boolean
}

/** Answers the freshness of every warehouse table now. */
export type FreshnessSource = () => Promise<readonly TableFreshness[]>

export interface StatusFreshnessInputs {
  readonly dataset: Dataset
  readonly ingestion: ObjectStore
  readonly processed: ObjectStore
  /** The dashboard's own read-only connection: the ledger is read through it. */
  readonly reader: DashboardReader
  readonly freshnessTargetMs: number
  /** How long one answer is reused: a page refreshing every minute must not read the lake's manifests each time. */
  readonly cacheMs?: number
}

/** Freshness computed by collectStatus, over the lake and the ledger the dashboard reads. */
export function statusFreshness(inputs: StatusFreshnessInputs): FreshnessSource {
  const ledger: LedgerReader = { loadedRuns: () => loadedRuns(inputs.reader) }
  let cached: { readonly at: number; readonly answer: Promise<readonly TableFreshness[]> } | undefined
  return () => {
    const now = Date.now()
    if (cached === undefined || now - cached.at >= (inputs.cacheMs ?? 15_000)) {
      const answer = collectStatus({ ...inputs, warehouse: ledger, schema: '', now: new Date(now) }).then((status) => {
        if (status.warehouseError !== undefined) throw new Error(status.warehouseError)
        return status.warehouse.map((t) => ({ table: t.table, lagMs: t.lagMs, fresh: t.fresh }))
      })
      cached = { at: now, answer }
      // A failed answer is not kept: the next refresh tries again.
      answer.catch(() => (cached = undefined))
    }
    return cached.answer
  }
}

/** The ledger's run ids, through the reader (unqualified names resolve in the warehouse schema). */
async function loadedRuns(reader: DashboardReader): Promise<{ readonly runId: string }[]> {
  try {
    const result = await reader.read('SELECT run_id FROM _starline_loads ORDER BY run_id')
    return result.rows.flatMap((row) => (typeof row.run_id === 'string' ? [{ runId: row.run_id }] : []))
  } catch (error) {
    // No ledger yet (nothing loaded): every extracted run waits.
    if (/_starline_loads/.test(String((error as Error).message))) return []
    throw error
  }
}

/** The freshness panel's rows with each table's lag and verdict added; both null when freshness is unknown. */
export function withFreshness(result: ChartResult, freshness: readonly TableFreshness[] | undefined): ChartResult {
  const byTable = new Map((freshness ?? []).map((t) => [t.table, t]))
  return {
    columns: [...result.columns, 'lag_seconds', 'freshness'],
    rows: result.rows.map((row) => {
      const table = typeof row.table_name === 'string' ? byTable.get(row.table_name) : undefined
      return {
        ...row,
        lag_seconds: table ? String(Math.floor(table.lagMs / 1000)) : null,
        freshness: table ? (table.fresh ? 'fresh' : 'stale') : null,
      }
    }),
  }
}
