import pg from 'pg'
import { generateTotesys } from '../src/datasets/totesys/generator.js'
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres-server.js'
import { PostgresSource } from '../src/source/postgres/postgres-source.js'
import { findLateRows } from '../src/source/late-rows.js'
import { parseSummaries } from '../src/source/late-rows.js'

const scale = Number(process.env.SCALE ?? 10)
const server = await startEmbeddedPostgres()
try {
  const url = await server.createDatabase('m')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  let t = Date.now()
  await generateTotesys(client, { scale, until: new Date('2024-11-19T00:00:00Z'), seed: 42 })
  console.log('generated in', Date.now() - t, 'ms')
  await client.query('VACUUM ANALYZE')
  const tables = ['sales_order', 'purchase_order', 'transaction', 'payment']
  const source = new PostgresSource({ url, schema: 'public' })
  const snap = await source.openSnapshot()
  const mark = await snap.snapshotMark()
  const [{ to }] = (await client.query("SELECT to_char(max(last_updated), 'YYYY-MM-DD HH24:MI:SS.MS') AS to FROM payment")).rows
  const base: Record<string, ReturnType<typeof parseSummaries>> = {}
  for (const name of tables) {
    const table = { name, primaryKey: `${name}_id`, watermarkColumn: 'last_updated' }
    t = Date.now()
    const first = await findLateRows(snap, table, to, undefined)
    const ms = Date.now() - t
    base[name] = parseSummaries(first.summaryCsv)
    const [{ n, bytes }] = (await client.query(`SELECT count(*)::int AS n, pg_total_relation_size('${name}')::bigint AS bytes FROM ${name}`)).rows
    console.log(JSON.stringify({ table: name, rows: n, tableBytes: Number(bytes), ranges: base[name]!.size, summaryBytes: first.summaryCsv.length, summarizeMs: ms }))
  }
  await snap.close()
  const { simulateActivity } = await import('../src/datasets/totesys/simulator.js')
  await simulateActivity(client, { days: 1, seed: 3, silentEditChance: 0 })
  const s1 = await source.openSnapshot()
  const mark1 = await s1.snapshotMark()
  await s1.close()
  const [{ to1 }] = (await client.query("SELECT to_char(max(last_updated), 'YYYY-MM-DD HH24:MI:SS.MS') AS to1 FROM payment")).rows
  console.log('window in between', to, to1)
  await client.query(`INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
    VALUES (1, 1, 1, 4242, 3.17, 1, '2024-11-20', '2024-11-21', 1, $1::timestamp + interval '1 second', $1::timestamp + interval '1 second')`, [to])
  // Late rows: one back-dated order, one payment stamped into the past.
  await client.query(`INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
    VALUES (1, 1, 1, 4242, 3.17, 1, '2024-11-20', '2024-11-21', 1, '2024-01-05 10:00:00', '2024-01-05 10:00:00')`)
  await client.query(`UPDATE payment SET paid = true, last_updated = last_updated + interval '1 second' WHERE payment_id = 5000`)
  for (let round = 0; round < 2; round++) {
    const s2 = await source.openSnapshot()
    for (const name of tables) {
      const table = { name, primaryKey: `${name}_id`, watermarkColumn: 'last_updated' }
      t = Date.now()
      const r = await findLateRows(s2, table, to1, { summaries: base[name], settledUpTo: to, mark, marksSince: [{ upTo: to1, mark: mark1 }] })
      console.log(JSON.stringify({ round, table: name, ranges: r.ranges, changedRanges: r.changedRanges, rowsRead: r.rowsRead, late: r.lateKeys.length, ms: Date.now() - t }))
    }
    await s2.close()
  }
  await client.end()
} finally {
  await server.stop()
}
