/**
 * PostgreSQL's side of the late-row check (see source/late-rows.ts): id
 * range summaries in one pass, and which row versions a past snapshot did
 * not see, told by each row's `xmin` (the transaction that wrote the
 * version) against a `pg_snapshot` recorded with the run.
 *
 * NOTE: `xmin` is 32 bits; it is widened to the 64-bit `xid8` relative to
 * this snapshot's next transaction id, which is exact for every version
 * written within the last 2^32 transactions. Only versions in id ranges
 * whose summary changed (or stamped after the last check) are tested, so a
 * source restored from a dump (new xids, same data) finds nothing late.
 */
import type pg from 'pg'
import { qualify, quoteIdent } from '../../sql/quote.js'
import type { IdRangeSummary, KeyedTable, LateInRanges, LateKeys, WindowMark } from '../source.js'

/** `xmin` as an xid8, given `ref.nx`, the snapshot's next xid (64-bit). */
const FULL_XMIN = '(ref.nx - (((ref.nx % 4294967296) - t.xmin::text::bigint + 4294967296) % 4294967296))::text::xid8'

/**
 * Whether snapshot `snapshot` (SQL) may not have seen the version: its
 * writer had not started then (at or past xmax), was running (in xip), or
 * falls between xmin and xmax without being listed. A snapshot lists only
 * top-level transactions, so a savepoint's (subtransaction's) id of a
 * transaction still open then looks visible: it is taken as uncertain and
 * re-read. A version re-read that the warehouse already holds is skipped by
 * the load (the run is marked), so re-reading is harmless.
 */
function notSeenBy(snapshot: string): string {
  return `${FULL_XMIN} >= pg_snapshot_xmin(${snapshot})`
}
const REF = '(SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS nx) AS ref'

/**
 * A row's 64-bit hash: the key's hash seeded with the watermark in epoch
 * microseconds (independent of the session's zone and of text formats).
 */
function rowHash(keyExpr: string, watermarkExpr: string): string {
  return `hashint8extended(${keyExpr}::bigint, (extract(epoch FROM ${watermarkExpr}) * 1000000)::bigint)::numeric`
}

/** Floor division, so negative ids get ranges of their own. */
function rangeOf(keyExpr: string, widthExpr: string): string {
  return `((${keyExpr} - ((${keyExpr} % ${widthExpr}::bigint) + ${widthExpr}::bigint) % ${widthExpr}::bigint) / ${widthExpr}::bigint)`
}

/**
 * `<system identifier>/<pg_snapshot>`: xids mean the same only within one
 * cluster's history, which the system identifier names (a user without the
 * right to read it gets an empty one).
 */
export async function readSnapshotMark(client: pg.ClientBase): Promise<string> {
  const result = await client.query<{ mark: string }>(
    `SELECT coalesce(CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
                          THEN (SELECT system_identifier::text FROM pg_control_system()) END, '')
            || '/' || pg_current_snapshot()::text AS mark`,
  )
  return result.rows[0]!.mark
}

/**
 * A mark can tell versions apart when it comes from this cluster's history:
 * the same system identifier, and no transaction id this snapshot has not
 * reached yet (a source restored from a dump starts its ids again).
 */
export async function canTellVersions(client: pg.ClientBase, mark: string): Promise<boolean> {
  const [system, snapshot] = splitMark(mark)
  if (snapshot === undefined || !/^\d+:\d+:[\d,]*$/.test(snapshot)) return false
  const current = await readSnapshotMark(client)
  const [currentSystem, currentSnapshot] = splitMark(current)
  if (system !== currentSystem) return false
  const result = await client.query<{ ok: boolean }>('SELECT pg_snapshot_xmax($1::pg_snapshot) <= pg_snapshot_xmax($2::pg_snapshot) AS ok', [snapshot, currentSnapshot])
  return result.rows[0]!.ok
}

/** The system identifier and the `pg_snapshot` text of a mark. */
function splitMark(mark: string): [string, string | undefined] {
  const slash = mark.indexOf('/')
  return slash < 0 ? ['', undefined] : [mark.slice(0, slash), mark.slice(slash + 1)]
}

function snapshotOf(mark: string): string {
  return splitMark(mark)[1] ?? ''
}

export async function summarizeRanges(
  client: pg.ClientBase,
  schema: string,
  table: KeyedTable,
  width: number,
  bounds: { readonly compareUpTo: string | null; readonly keepUpTo: string },
): Promise<{ compared: IdRangeSummary[]; kept: IdRangeSummary[] }> {
  const key = quoteIdent(table.primaryKey)
  const mark = quoteIdent(table.watermarkColumn)
  const result = await client.query<{ range: string; kept_rows: string; kept_hash: string; compared_rows: string; compared_hash: string }>(
    `SELECT r::text AS range,
            count(*) FILTER (WHERE w <= $2::timestamp)::text AS kept_rows,
            coalesce(sum(h) FILTER (WHERE w <= $2::timestamp), 0)::text AS kept_hash,
            count(*) FILTER (WHERE w <= $3::timestamp)::text AS compared_rows,
            coalesce(sum(h) FILTER (WHERE w <= $3::timestamp), 0)::text AS compared_hash
       FROM (SELECT ${rangeOf('k', '$1')} AS r, w, ${rowHash('k', 'w')} AS h
               FROM (SELECT ${key}::bigint AS k, ${mark} AS w FROM ${qualify(schema, table.name)}
                      WHERE ${mark} <= greatest($2::timestamp, $3::timestamp)) AS rows) AS hashed
      GROUP BY r ORDER BY r`,
    [width, bounds.keepUpTo, bounds.compareUpTo],
  )
  const compared: IdRangeSummary[] = []
  const kept: IdRangeSummary[] = []
  for (const row of result.rows) {
    if (row.kept_rows !== '0') kept.push({ range: Number(row.range), rows: Number(row.kept_rows), hash: row.kept_hash })
    if (row.compared_rows !== '0') compared.push({ range: Number(row.range), rows: Number(row.compared_rows), hash: row.compared_hash })
  }
  return { compared, kept }
}

/**
 * Versions in the given ranges, at or below `upTo`, that snapshot `mark` may
 * not have seen (see notSeenBy), per range with their count and hash sum; reads the ranges through
 * the key's index.
 */
export async function lateInRanges(
  client: pg.ClientBase,
  schema: string,
  table: KeyedTable,
  width: number,
  ranges: readonly number[],
  upTo: string,
  mark: string,
): Promise<LateInRanges> {
  const exact = await client.query<{ exact: boolean }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint < 4294967296 AS exact')
  if (ranges.length === 0) return { keys: [], rowsRead: 0, ranges: [], exact: exact.rows[0]!.exact }
  const key = quoteIdent(table.primaryKey)
  const watermark = quoteIdent(table.watermarkColumn)
  const values: unknown[] = [upTo, snapshotOf(mark), width]
  const inRanges = ranges.map((range) => {
    values.push(range * width, (range + 1) * width)
    return `(t.${key} >= $${values.length - 1}::bigint AND t.${key} < $${values.length}::bigint)`
  })
  const result = await client.query<{ range: string; n: string; rows: string; hash: string; keys: string[] }>(
    `SELECT ${rangeOf('k', '$3')}::text AS range, count(*)::text AS n, count(*) FILTER (WHERE late)::text AS rows,
            coalesce(sum(h) FILTER (WHERE late), 0)::text AS hash, coalesce(array_agg(k::text ORDER BY k) FILTER (WHERE late), '{}') AS keys
       FROM (SELECT t.${key}::bigint AS k, ${rowHash('t.' + key, 't.' + watermark)} AS h,
                    t.${watermark} <= $1::timestamp AND ${notSeenBy('$2::pg_snapshot')} AS late
               FROM ${qualify(schema, table.name)} AS t, ${REF}
              WHERE ${inRanges.join(' OR ')}) AS candidates
      GROUP BY 1 ORDER BY 1`,
    values,
  )
  const found = result.rows.map((row) => ({ range: Number(row.range), rows: Number(row.rows), hash: row.hash, keys: row.keys }))
  return {
    keys: found.flatMap((r) => r.keys),
    rowsRead: result.rows.reduce((sum, row) => sum + Number(row.n), 0),
    ranges: found.filter((r) => r.rows > 0),
    exact: exact.rows[0]!.exact,
  }
}

/** Versions with `after < watermark <= last upTo` that the run covering their watermark may not have seen (see notSeenBy). */
export async function lateInWindows(client: pg.ClientBase, schema: string, table: KeyedTable, after: string, marks: readonly WindowMark[]): Promise<LateKeys> {
  const last = marks.at(-1)
  if (last === undefined) return { keys: [], rowsRead: 0 }
  const key = quoteIdent(table.primaryKey)
  const watermark = quoteIdent(table.watermarkColumn)
  const result = await client.query<{ n: string; keys: string[] }>(
    `WITH marks AS (SELECT * FROM unnest($2::timestamp[], $3::text[]) AS m(up_to, mark))
     SELECT count(*)::text AS n,
            coalesce(array_agg(t.${key}::text ORDER BY t.${key})
              FILTER (WHERE ${notSeenBy(`(SELECT mark FROM marks WHERE up_to >= t.${watermark} ORDER BY up_to LIMIT 1)::pg_snapshot`)}), '{}') AS keys
       FROM ${qualify(schema, table.name)} AS t, ${REF}
      WHERE t.${watermark} > $1::timestamp AND t.${watermark} <= $4::timestamp`,
    [after, marks.map((m) => m.upTo), marks.map((m) => snapshotOf(m.mark)), last.upTo],
  )
  return { keys: result.rows[0]!.keys, rowsRead: Number(result.rows[0]!.n) }
}
