/**
 * `starline` with a DuckDB warehouse as a user runs it: the demo into a
 * DuckDB file, and the one-line errors for a bad URL and a file another
 * process holds.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { openDuckDb } from '../../src/engines/duckdb/duckdb-engine.js'
import { EXIT_RETRYABLE } from '../../src/runtime/cli/main.js'
import { runCli, type CliResult } from '../support/cli-process.js'

const ENTRY = fileURLToPath(new URL('../../src/runtime/cli/starline.ts', import.meta.url))
let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'starline-duckdb-cli-'))
})
after(() => rm(dir, { recursive: true, force: true }))

/** `starline ...args` run in `cwd` (the demo writes under the working directory). */
function runCliIn(cwd: string, args: readonly string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), ENTRY, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })))
}

describe('starline with a DuckDB warehouse', () => {
  it('runs the demo into a DuckDB file under .starline/demo/ and reports from it', async () => {
    const result = await runCliIn(dir, ['demo', '--warehouse', 'duckdb', '--scale', '0.1'])
    assert.equal(result.code, 0, result.stderr)
    const path = join(dir, '.starline', 'demo', 'warehouse.duckdb')
    assert.match(result.stdout, new RegExp(`the warehouse in ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    const db = await openDuckDb({ path, scratchDir: dir })
    try {
      const [ledger] = await db.all<{ runs: number }>('SELECT count(*)::INT AS runs FROM public._starline_loads')
      assert.equal(ledger?.runs, 2, 'both demo cycles are in the ledger')
      const [facts] = await db.all<{ n: string }>('SELECT count(*)::VARCHAR AS n FROM public.fact_sales_order')
      assert.match(result.stdout, new RegExp(`fact_sales_order\\s+${Number(facts?.n).toLocaleString('en-GB')}\\s`))
      assert.ok(Number(facts?.n) > 0)
    } finally {
      db.close()
    }
  })

  it('refuses --warehouse with an engine the demo does not have', async () => {
    const result = await runCliIn(dir, ['demo', '--warehouse', 'sqlite'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--warehouse must be one of postgres, duckdb/)
  })

  it('exits 2 naming STARLINE_WAREHOUSE_URL for a duckdb: URL that names no file', async () => {
    const result = await runCli(['load'], { STARLINE_WAREHOUSE_URL: 'duckdb://' })
    assert.equal(result.code, 2)
    assert.match(result.stderr.trim(), /^starline: STARLINE_WAREHOUSE_URL: .*names no database file\. Expected duckdb:\/\/\/absolute\/path\/warehouse\.duckdb\.$/)
  })

  it('fails in one line saying another process holds the file', async () => {
    const path = join(dir, 'held.duckdb')
    const holder = await openDuckDb({ path, scratchDir: dir })
    let result: CliResult
    try {
      result = await runCli(['load'], {
        STARLINE_WAREHOUSE_URL: `duckdb://${path}`,
        STARLINE_PROCESSED_URL: pathToFileURL(join(dir, 'processed')).href,
        STARLINE_RETRIES: '1',
      })
    } finally {
      holder.close()
    }
    assert.equal(result.code, EXIT_RETRYABLE, 'a held file is a transient failure')
    const lines = result.stderr.trim().split('\n')
    assert.equal(lines.length, 1, result.stderr)
    assert.match(lines[0]!, new RegExp(`another process \\(.*PID ${process.pid}\\) has it open, and a DuckDB file admits one writing process at a time`))
  })
})
