/**
 * The extract's periodic check of the large tables for late rows (see
 * source/late-rows.ts for the method): which tables, the baseline kept in
 * the lake, the snapshot marks of the runs since, and the new baseline
 * written with the run's manifest.
 */
import { createHash } from 'node:crypto'
import { rangeSummaryKey } from '../lake/keys.js'
import { listRunIds, readManifest, type LateRowsState, type ManifestColumn } from '../lake/manifest.js'
import type { ObjectStore } from '../lake/object-store.js'
import { findLateRows, parseSummaries, RANGE_WIDTH, type LateRowsBaseline, type LateRowsResult } from '../source/late-rows.js'
import type { SourceSnapshot, WindowMark } from '../source/source.js'
import type { LateRowsSummary } from '../schema/summaries.js'
import type { StageContext } from './context.js'

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint'])

export function isLateRowsCheckDue(last: LateRowsState | undefined, intervalMs: number | undefined): boolean {
  if (intervalMs === undefined) return false
  return last === undefined || Date.now() - Date.parse(last.at) >= intervalMs
}

/**
 * Checks every large table (those not reconciled by row hash) with an
 * integer key; `keepUpTo` is this run's window end, which the new baseline covers.
 */
export async function checkLateRows(
  ctx: StageContext,
  snapshot: SourceSnapshot,
  columns: ReadonlyMap<string, readonly ManifestColumn[]>,
  last: LateRowsState | undefined,
  keepUpTo: string,
): Promise<LateRowsResult[]> {
  const usable = last !== undefined && (await snapshot.canTellVersions(last.sourceSnapshot))
  if (last !== undefined && !usable) {
    ctx.logger.warn('the late-row summaries were taken in another source database (restored or replaced); taking new ones', { runId: last.runId })
  }
  const marksSince = usable ? await runMarksSince(ctx, snapshot, last) : undefined
  const results: LateRowsResult[] = []
  for (const table of ctx.dataset.sourceTables) {
    if (ctx.dataset.reconcileTables.includes(table.name)) continue
    const key = columns.get(table.name)?.find((c) => c.name === table.primaryKey)
    if (!key || !INTEGER_TYPES.has(key.type)) {
      ctx.logger.warn('late rows are looked for only in tables with an integer key', { table: table.name })
      continue
    }
    const result = await findLateRows(snapshot, table, keepUpTo, usable ? await baseline(ctx.ingestion, ctx, table.name, last, marksSince) : undefined)
    if (result.lateKeys.length > 0) {
      ctx.logger.warn('found rows that appeared behind the watermark (late commits or back-dated stamps); extracting them', {
        table: table.name,
        lateRows: result.lateKeys.length,
      })
    }
    if (result.unconfirmed > 0) {
      ctx.logger.warn(
        'rows that may have appeared behind the watermark were not extracted: the source has used more than 2^32 transaction ids, and the id range summaries cannot confirm them (rows also left their ranges)',
        { table: table.name, unconfirmed: result.unconfirmed },
      )
    }
    results.push(result)
  }
  return results
}

/** Stores the new summaries; the state goes into the run's manifest. */
export async function writeLateRowsState(
  store: ObjectStore,
  runId: string,
  results: readonly LateRowsResult[],
  settledUpTo: string,
  sourceSnapshot: string,
): Promise<LateRowsState> {
  const summaries: Record<string, { key: string; sha256: string }> = {}
  for (const result of results) {
    const key = rangeSummaryKey(result.table, runId)
    const info = await store.put(key, result.summaryCsv)
    summaries[result.table] = { key, sha256: info.sha256 ?? sha256(result.summaryCsv) }
  }
  return { at: new Date().toISOString(), runId, settledUpTo, sourceSnapshot, rangeWidth: RANGE_WIDTH, summaries }
}

export function lateRowsSummary(results: readonly LateRowsResult[]): LateRowsSummary[] {
  return results.map((r) => ({
    table: r.table,
    ranges: r.ranges,
    changedRanges: r.changedRanges,
    rowsRead: r.rowsRead,
    lateRows: r.lateKeys.length,
    unconfirmed: r.unconfirmed,
  }))
}

async function baseline(
  store: ObjectStore,
  ctx: StageContext,
  table: string,
  last: LateRowsState,
  marksSince: readonly WindowMark[] | undefined,
): Promise<LateRowsBaseline | undefined> {
  const stored = last.summaries[table]
  // A table added since, or summaries taken with another width: start again from this run.
  if (stored === undefined || last.rangeWidth !== RANGE_WIDTH) return undefined
  const bytes = await store.getBytes(stored.key)
  const summaries = sha256(bytes) === stored.sha256 ? parseSummaries(bytes.toString('utf8')) : undefined
  if (summaries === undefined) {
    // A baseline, not data: refusing would stop extraction for good, so the check starts again from this run.
    ctx.logger.warn('the id range summaries in the lake are not the ones written (changed or damaged); taking new ones: late rows stamped before now are not looked for', {
      key: stored.key,
    })
  }
  return { summaries, settledUpTo: last.settledUpTo, mark: last.sourceSnapshot, marksSince }
}

function sha256(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * The window end and snapshot of each run published after the last check,
 * in order: the run covering a watermark is the first whose end is at or
 * above it. Undefined when a run recorded no snapshot (written by an older
 * starline): rows stamped since are then not checked, rather than guessed.
 */
async function runMarksSince(ctx: StageContext, snapshot: SourceSnapshot, last: LateRowsState): Promise<WindowMark[] | undefined> {
  const marks: WindowMark[] = []
  let coveredUpTo = last.settledUpTo
  // Only the runs after the check's own: the listing does not grow with the lake's history.
  for (const runId of await listRunIds(ctx.ingestion, last.runId)) {
    const { manifest } = await readManifest(ctx.ingestion, runId, 'extract')
    // A run whose window did not move (it carried silent edits only) covers no watermark: the earlier run's mark stands.
    if (manifest.watermark === undefined || manifest.watermark.to <= coveredUpTo) continue
    coveredUpTo = manifest.watermark.to
    if (manifest.sourceSnapshot === undefined || !(await snapshot.canTellVersions(manifest.sourceSnapshot))) {
      ctx.logger.warn('a run since the last late-row check recorded no usable source snapshot; rows stamped since are not checked this time', { runId })
      return undefined
    }
    marks.push({ upTo: manifest.watermark.to, mark: manifest.sourceSnapshot })
  }
  return marks
}
