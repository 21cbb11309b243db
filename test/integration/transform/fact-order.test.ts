/**
 * A fact model's rows are written in its append order, with DuckDB's small
 * memory setting only for the sort: real DuckDB, real Parquet files.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { openDuckDb, type DuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { withSmallMemory, writeInOrder } from '../../../src/transform/fact-order.js'

const dir = mkdtempSync(join(tmpdir(), 'starline-fact-order-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function settings(db: DuckDb): Promise<{ threads: string; memory: string }> {
  const [row] = await db.all<{ threads: string; memory: string }>(
    "SELECT current_setting('threads')::VARCHAR AS threads, current_setting('memory_limit') AS memory",
  )
  return row!
}

describe('writeInOrder', () => {
  it('writes the rows sorted by the order, ties broken by the later columns, and leaves only that file', async () => {
    const out = mkdtempSync(join(dir, 'sorted-'))
    const db = await openDuckDb({ scratchDir: out, memoryLimit: '200MB', threads: 2, preserveInsertionOrder: false })
    try {
      const before = await settings(db)
      // 50,000 rows in scrambled order; (day, id) is unique, as a fact's append order is.
      const sql = 'SELECT (i * 7919) % 50000 AS id, DATE \'2024-01-01\' + ((i * 31) % 20)::INTEGER AS day, i AS payload FROM range(50000) t(i)'
      const path = join(out, 'fact.parquet')
      assert.equal(await writeInOrder(db, sql, ['day', 'id'], path, '200MB'), 50000)
      const [check] = await db.all<{ rows: string; misplaced: string }>(
        `SELECT count(*)::VARCHAR AS rows, count(*) FILTER (WHERE file_row_number + 1 <> place)::VARCHAR AS misplaced
           FROM (SELECT file_row_number, row_number() OVER (ORDER BY day, id) AS place FROM read_parquet('${path}', file_row_number = true))`,
      )
      assert.deepEqual(check, { rows: '50000', misplaced: '0' })
      assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.parquet') || f.endsWith('.unsorted')), ['fact.parquet'])
      assert.deepEqual(await settings(db), before)
    } finally {
      db.close()
    }
  })
})

describe('withSmallMemory', () => {
  it('runs on one thread under 64 MB and puts the settings back, after a failure too', async () => {
    const db = await openDuckDb({ scratchDir: dir, memoryLimit: '200MB', threads: 2 })
    try {
      const before = await settings(db)
      const inside = await withSmallMemory(db, '200MB', () => settings(db))
      assert.equal(inside.threads, '1')
      assert.match(inside.memory, /^6[0-9](\.\d+)? MiB$/)
      await assert.rejects(withSmallMemory(db, '200MB', () => db.run('SELECT * FROM no_such_table')), /no_such_table/)
      assert.deepEqual(await settings(db), before)
    } finally {
      db.close()
    }
  })

  it('runs the work again under the stage limit when it runs out of the small one', async () => {
    const db = await openDuckDb({ scratchDir: dir, memoryLimit: '200MB', threads: 2 })
    try {
      const before = await settings(db)
      const seen: string[] = []
      const result = await withSmallMemory(db, '200MB', async () => {
        seen.push((await settings(db)).memory)
        // The first attempt fails as DuckDB does past its limit; the second must run under the stage's 200MB.
        if (seen.length === 1) throw new Error('Out of Memory Error: failed to allocate data of size 8.0 MiB (55.8 MiB/61.0 MiB used)')
        return 'done'
      })
      assert.equal(result, 'done')
      assert.equal(seen.length, 2)
      assert.match(seen[0]!, /^6[0-9](\.\d+)? MiB$/)
      assert.match(seen[1]!, /^19[0-9](\.\d+)? MiB$/)
      assert.deepEqual(await settings(db), before)
      // Any other error is not retried.
      let calls = 0
      await assert.rejects(withSmallMemory(db, '200MB', async () => { calls++; throw new Error('Binder Error: no such column') }), /Binder Error/)
      assert.equal(calls, 1)
    } finally {
      db.close()
    }
  })
})
