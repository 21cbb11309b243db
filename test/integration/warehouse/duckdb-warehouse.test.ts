/**
 * The warehouse contract against real DuckDB files, and what only a file
 * warehouse has: one writing process at a time.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js'
import { WarehouseUnreachableError } from '../../../src/warehouse/errors.js'
import { openWarehouse } from '../../../src/warehouse/open-warehouse.js'
import { describeWarehouse, HOSTILE_SCHEMA } from './warehouse-contract.js'

let dir: string
let files = 0
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'starline-duckdb-warehouse-'))
})
after(() => rm(dir, { recursive: true, force: true }))

describeWarehouse('DuckDbWarehouse', async () => {
  // A folder that does not exist yet, with a space: the warehouse creates it.
  const path = join(dir, `warehouse ${++files}`, 'star.duckdb')
  return {
    warehouse: new DuckDbWarehouse({ path, scratchDir: dir }),
    async rows(schema, table, columns, orderBy) {
      const db = await openDuckDb({ path, scratchDir: dir })
      try {
        const rows = await db.all<Record<string, string | null>>(
          `SELECT ${columns.map((c, i) => `${quoteIdent(c)}::VARCHAR AS c${i}`).join(', ')} FROM ${qualify(schema, table)} ORDER BY ${orderBy.map(quoteIdent).join(', ')}`,
        )
        return rows.map((row) => columns.map((_, i) => row[`c${i}`] ?? null))
      } finally {
        db.close()
      }
    },
    cleanup: async () => {},
  }
})

describe('DuckDbWarehouse foreign keys', () => {
  it('declares every reference of the specs, rejects an orphan and lets a referenced dimension row change', async () => {
    const path = join(dir, 'keys.duckdb')
    const specs = TOTESYS.models.map((m) => m.table)
    const warehouse = new DuckDbWarehouse({ path, scratchDir: dir })
    await warehouse.ensureTables('public', specs)
    const db = await openDuckDb({ path, scratchDir: dir })
    try {
      const declared = await db.all<{ table_name: string; columns: string }>(
        "SELECT table_name, array_to_string(constraint_column_names, ',') AS columns FROM duckdb_constraints() WHERE schema_name = 'public' AND constraint_type = 'FOREIGN KEY' AND NOT starts_with(table_name, '_starline_') ORDER BY 1, 2",
      )
      const expected = specs
        .flatMap((spec) => spec.columns.filter((c) => c.references).map((c) => ({ table_name: spec.name, columns: c.name })))
        .sort((a, b) => (a.table_name + a.columns < b.table_name + b.columns ? -1 : 1))
      assert.ok(expected.length > 10)
      assert.deepEqual(declared, expected)
      await db.run("INSERT INTO public.dim_currency (currency_id, currency_code, currency_name) VALUES (1, 'GBP', 'British Pound')")
      await db.run('CREATE TABLE public.payments (id INTEGER PRIMARY KEY, currency_id INTEGER REFERENCES public.dim_currency (currency_id))')
      await assert.rejects(db.run('INSERT INTO public.payments VALUES (1, 2)'), /foreign key/i)
      await db.run('BEGIN TRANSACTION')
      await db.run('INSERT INTO public.payments VALUES (1, 1)')
      // The upsert's statement shape: non-key columns of a row a fact references, in the same transaction.
      await db.run("UPDATE public.dim_currency AS t SET currency_name = s.name FROM (SELECT 1 AS id, 'Pound sterling' AS name) AS s WHERE t.currency_id = s.id")
      await db.run('COMMIT')
      assert.deepEqual(await db.all('SELECT currency_name FROM public.dim_currency'), [{ currency_name: 'Pound sterling' }])
    } finally {
      db.close()
    }
    assert.equal(warehouse.capabilities.enforcesForeignKeys, true)
  })
})

describe('DuckDbWarehouse and other processes', () => {
  it('fails with a retryable error naming the other process while one holds the file, and works once it exits', async () => {
    const path = join(dir, 'held.duckdb')
    const engine = new URL('../../../src/engines/duckdb/duckdb-engine.ts', import.meta.url).href
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const { openDuckDb } = await import(${JSON.stringify(engine)}); await openDuckDb({ path: ${JSON.stringify(path)}, scratchDir: ${JSON.stringify(dir)} }); console.log('open'); setInterval(() => {}, 1000)`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('open') && resolve())
        holder.on('exit', (code) => reject(new Error(`the holder exited with ${code}`)))
      })
      const warehouse = new DuckDbWarehouse({ path, scratchDir: dir })
      await assert.rejects(warehouse.ensureTables(HOSTILE_SCHEMA, []), (error: Error) => {
        assert.ok(error instanceof WarehouseUnreachableError, String(error))
        assert.equal(error.retryable, true)
        assert.ok(error.message.includes(path), error.message)
        assert.match(error.message, new RegExp(`another process \\(.*PID ${holder.pid}\\) has it open, and a DuckDB file admits one writing process`))
        return true
      })
    } finally {
      holder.kill('SIGKILL')
      await new Promise((resolve) => holder.once('exit', resolve))
    }
    const warehouse = new DuckDbWarehouse({ path, scratchDir: dir })
    await warehouse.ensureTables(HOSTILE_SCHEMA, [])
    assert.deepEqual(await warehouse.loadedRuns(HOSTILE_SCHEMA), [])
  })

  it('releases the file after each call, so an analyst can open it between loads', async () => {
    const path = join(dir, 'between.duckdb')
    const warehouse = await openWarehouse(`duckdb://${path}`)
    await warehouse.ensureTables('public', [])
    const analyst = await openDuckDb({ path, scratchDir: dir })
    try {
      assert.deepEqual(await analyst.all(`SELECT count(*)::INT AS n FROM public._starline_loads`), [{ n: 0 }])
    } finally {
      analyst.close()
    }
    assert.deepEqual(await warehouse.loadedRuns('public'), [])
    await warehouse.close()
  })

  it('creates no file when only asked which runs it holds', async () => {
    const path = join(dir, 'never.duckdb')
    assert.deepEqual(await new DuckDbWarehouse({ path }).loadedRuns('public'), [])
    assert.equal(existsSync(path), false)
  })
})
