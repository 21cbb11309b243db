/**
 * Measures the large tables' late-row check (docs/late-rows.md) on a
 * generated ToteSys source: the summary pass, then, after one simulated day
 * and three late rows, what the next check reads and finds.
 *
 *   node --import tsx scripts/measure-late-rows.ts          # scale 10
 *   SCALE=1 node --import tsx scripts/measure-late-rows.ts
 */
import pg from 'pg'
import { generateTotesys } from '../src/datasets/totesys/generator.js'
import { simulateActivity } from '../src/datasets/totesys/simulator.js'
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres-server.js'
import { findLateRows, parseSummaries } from '../src/source/late-rows.js'
import { PostgresSource } from '../src/source/postgres/postgres-source.js'
import type { IdRangeSummary, SourceSnapshot } from '../src/source/source.js'

const TABLES = ['sales_order', 'purchase_order', 'transaction', 'payment'] as const
const ORDER = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 4242, 3.17, 1, '2024-11-20', '2024-11-21', 1, $1::timestamp, $1::timestamp)`

const keyed = (name: string) => ({ name, primaryKey: `${name}_id`, watermarkColumn: 'last_updated' })

const scale = Number(process.env.SCALE ?? 10)
const server = await startEmbeddedPostgres()
try {
  const url = await server.createDatabase('late_rows')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await generateTotesys(client, { scale, until: new Date('2024-11-19T00:00:00Z'), seed: 42 })
  await client.query('VACUUM ANALYZE')
  const source = new PostgresSource({ url, schema: 'public' })
  const newest = async () =>
    (await client.query<{ to: string }>("SELECT to_char(max(last_updated), 'YYYY-MM-DD HH24:MI:SS.MS') AS to FROM payment")).rows[0]!.to
  const marked = async <T>(work: (snapshot: SourceSnapshot, mark: string) => Promise<T>): Promise<T> => {
    const snapshot = await source.openSnapshot()
    try {
      return await work(snapshot, await snapshot.snapshotMark())
    } finally {
      await snapshot.close()
    }
  }

  // The baseline, as a checking run with window end `settled` takes it.
  const settled = await newest()
  const baselines = new Map<string, Map<number, IdRangeSummary>>()
  const mark = await marked(async (snapshot, mark) => {
    for (const name of TABLES) {
      const started = performance.now()
      const result = await findLateRows(snapshot, keyed(name), settled, undefined)
      const ms = Math.round(performance.now() - started)
      baselines.set(name, parseSummaries(result.summaryCsv)!)
      const size = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`)
      console.log(JSON.stringify({ table: name, rows: size.rows[0]!.n, ranges: baselines.get(name)!.size, summaryBytes: result.summaryCsv.length, summaryPassMs: ms }))
    }
    return mark
  })

  // A day of activity taken by a run in between, then three late rows.
  await simulateActivity(client, { days: 1, seed: 3, silentEditChance: 0 })
  const between = await newest()
  const betweenMark = await marked(async (_, mark) => mark)
  await client.query(ORDER, ['2024-01-05 10:00:00'])
  await client.query(`${ORDER.replace('$1::timestamp, $1::timestamp', "$1::timestamp + interval '1 second', $1::timestamp + interval '1 second'")}`, [settled])
  await client.query("UPDATE payment SET paid = true, last_updated = last_updated + interval '1 second' WHERE payment_id = (SELECT min(payment_id) FROM payment WHERE NOT paid)")

  await marked(async (snapshot) => {
    for (const name of TABLES) {
      const started = performance.now()
      const result = await findLateRows(snapshot, keyed(name), between, {
        summaries: baselines.get(name),
        settledUpTo: settled,
        mark,
        marksSince: [{ upTo: between, mark: betweenMark }],
      })
      const ms = Math.round(performance.now() - started)
      console.log(JSON.stringify({ table: name, changedRanges: result.changedRanges, rowsRead: result.rowsRead, lateRows: result.lateKeys.length, checkMs: ms }))
    }
  })
  await client.end()
} finally {
  await server.stop()
}
