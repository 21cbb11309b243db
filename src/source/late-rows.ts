/**
 * Late rows in the large tables: versions that appeared with a watermark
 * the lake had already passed (a late commit, a clock behind, a back-dated
 * fix), which no window will ever take. Hashing every row each time (as
 * reconcile.ts does for the small tables) would cost a read of the whole
 * table; instead:
 *
 * - a check keeps, in the lake, one line per id range of RANGE_WIDTH keys:
 *   the count and an order-free hash of (key, watermark) of the rows at or
 *   below the lake's watermark then, and the source snapshot it was taken in;
 * - the next check recomputes the same summaries in the source (one
 *   aggregate pass, nothing but the summaries leaves the database) and reads
 *   rows only in ranges whose summary changed: those whose version the old
 *   snapshot did not see are late;
 * - rows stamped between the two checks were taken by the runs in between:
 *   a version that the run covering its watermark did not see is late too.
 *
 * Deletes are out of scope: a row gone from a range changes its summary but
 * is never reported as late.
 */
import type { IdRangeSummary, KeyedTable, LateInRanges, SourceSnapshot, WindowMark } from './source.js'

/** Keys per id range: a changed range costs reading at most this many rows. */
export const RANGE_WIDTH = 1024

export interface LateRowsBaseline {
  /** The summaries stored at the last check (undefined: none yet, nothing to compare). */
  readonly summaries: ReadonlyMap<number, IdRangeSummary> | undefined
  /** The watermark those summaries cover up to. */
  readonly settledUpTo: string
  /** The snapshot mark they were taken in. */
  readonly mark: string
  /** Marks of the runs since, covering `settledUpTo < watermark <= marks.at(-1).upTo`; undefined when a run lacks one. */
  readonly marksSince: readonly WindowMark[] | undefined
}

export interface LateRowsResult {
  readonly table: string
  /** Id ranges compared with the stored summaries. */
  readonly ranges: number
  /** Ranges whose summary changed: only they were read row by row. */
  readonly changedRanges: number
  /** Rows read row by row to find the late ones (ranges that changed, rows stamped since the last check). */
  readonly rowsRead: number
  /** Keys of late rows: to extract with this run. */
  readonly lateKeys: readonly string[]
  /** Candidates left out because the source could not place their writer exactly and the summaries did not confirm them. */
  readonly unconfirmed: number
  /** The summaries to keep for the next check, `range,rows,hash` lines. */
  readonly summaryCsv: string
}

export async function findLateRows(
  snapshot: SourceSnapshot,
  table: KeyedTable,
  keepUpTo: string,
  baseline: LateRowsBaseline | undefined,
): Promise<LateRowsResult> {
  const { compared, kept } = await snapshot.summarizeRanges(table, RANGE_WIDTH, { compareUpTo: baseline?.settledUpTo ?? null, keepUpTo })
  const summaryCsv = formatSummaries(kept)
  if (baseline?.summaries === undefined) return { table: table.name, ranges: 0, changedRanges: 0, rowsRead: 0, lateKeys: [], unconfirmed: 0, summaryCsv }
  const changed = changedRanges(baseline.summaries, compared)
  const inRanges = await snapshot.lateInRanges(table, RANGE_WIDTH, changed, baseline.settledUpTo, baseline.mark)
  const inWindows = baseline.marksSince ? await snapshot.lateInWindows(table, baseline.settledUpTo, baseline.marksSince) : { keys: [], rowsRead: 0 }
  // NOTE: past 2^32 xids an old (frozen) version can look as new as a late one: without the summaries' word a whole range of versions the warehouse holds would be re-read every check.
  const taken = inRanges.exact ? inRanges.keys : confirmedKeys(baseline.summaries, compared, inRanges)
  return {
    table: table.name,
    ranges: new Set([...baseline.summaries.keys(), ...compared.map((s) => s.range)]).size,
    changedRanges: changed.length,
    rowsRead: inRanges.rowsRead + inWindows.rowsRead,
    lateKeys: [...new Set([...taken, ...inWindows.keys])],
    unconfirmed: inRanges.keys.length - taken.length,
    summaryCsv,
  }
}

/**
 * Candidates of the ranges whose change they explain exactly: the range now,
 * without them, equals the stored summary (so they are new and nothing left
 * the range). Where rows also left a range (an update moving last_updated
 * forward, a delete), its candidates cannot be confirmed this way.
 */
export function confirmedKeys(stored: ReadonlyMap<number, IdRangeSummary>, compared: readonly IdRangeSummary[], candidates: LateInRanges): string[] {
  const now = new Map(compared.map((s) => [s.range, s]))
  const confirmed: string[] = []
  for (const range of candidates.ranges) {
    const before = stored.get(range.range) ?? { rows: 0, hash: '0' }
    const after = now.get(range.range) ?? { rows: 0, hash: '0' }
    if (after.rows - range.rows === before.rows && BigInt(after.hash) - BigInt(range.hash) === BigInt(before.hash)) confirmed.push(...range.keys)
  }
  return confirmed
}

/** Ranges whose count or hash differs, or that only one side has. */
export function changedRanges(stored: ReadonlyMap<number, IdRangeSummary>, current: readonly IdRangeSummary[]): number[] {
  const changed = new Set<number>()
  const seen = new Set<number>()
  for (const summary of current) {
    seen.add(summary.range)
    const before = stored.get(summary.range)
    if (before === undefined || before.rows !== summary.rows || before.hash !== summary.hash) changed.add(summary.range)
  }
  for (const range of stored.keys()) if (!seen.has(range)) changed.add(range)
  return [...changed].sort((a, b) => a - b)
}

export function formatSummaries(summaries: readonly IdRangeSummary[]): string {
  return summaries.map((s) => `${s.range},${s.rows},${s.hash}\n`).join('')
}

/** Reads what formatSummaries wrote; undefined when a line is not `range,rows,hash` (edited or damaged). */
export function parseSummaries(csv: string): Map<number, IdRangeSummary> | undefined {
  const summaries = new Map<number, IdRangeSummary>()
  for (const line of csv.split('\n')) {
    if (line === '') continue
    const match = /^(-?\d+),(\d+),(-?\d+)$/.exec(line)
    if (!match) return undefined
    const range = Number(match[1])
    summaries.set(range, { range, rows: Number(match[2]), hash: match[3]! })
  }
  return summaries
}
