/**
 * `starline serve` and the demo's dashboard as a user runs them: the address
 * printed, the warning for a non-loopback interface, clean stops on Ctrl-C,
 * and one-line errors naming what to fix.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { TOTESYS } from '../../src/datasets/totesys/totesys-dataset.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/runtime/embedded-postgres-server.js'
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js'
import { EXIT_RETRYABLE } from '../../src/runtime/cli/main.js'
import { runCli, startCli } from '../support/cli-process.js'

const ADDRESS = /dashboard at (http:\/\/\S+\/)/

/** Resolves with the dashboard's address once the process prints it. */
function addressOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      const match = ADDRESS.exec(seen)
      if (match) resolve(match[1]!)
    })
    child.on('close', (code) => reject(new Error(`exited with ${code} before serving: ${seen}`)))
  })
}

describe('starline serve', () => {
  let server: EmbeddedPostgresServer
  let warehouseUrl: string
  const cwd = mkdtempSync(join(tmpdir(), 'starline-serve-'))

  before(async () => {
    server = await startEmbeddedPostgres()
    warehouseUrl = await server.createDatabase('warehouse')
  })
  after(async () => {
    await server?.stop()
    rmSync(cwd, { recursive: true, force: true })
  })

  it('serves on 127.0.0.1 by default and stops cleanly on Ctrl-C', async () => {
    const { child, done } = startCli(['serve', '--port', '0'], { STARLINE_WAREHOUSE_URL: warehouseUrl })
    const url = await addressOf(child)
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    const list = (await (await fetch(new URL('/api/charts', url))).json()) as { engine: string; charts: string[] }
    assert.equal(list.engine, 'postgres')
    // An empty warehouse: the chart says what to do rather than failing silently.
    const empty = await fetch(new URL('/api/charts/health-runs', url))
    assert.equal(empty.status, 500)
    assert.match(((await empty.json()) as { error: string }).error, /Run starline load first/)
    child.kill('SIGINT')
    const result = await done
    assert.equal(result.code, 0, result.stderr)
    assert.doesNotMatch(result.stderr, /WARNING/)
  })

  it('serves a DuckDB warehouse read-only, leaving the file free for loads between requests', async () => {
    const path = join(cwd, 'warehouse.duckdb')
    const tables = TOTESYS.models.map((m) => m.table)
    const warehouse = new DuckDbWarehouse({ path })
    try {
      await warehouse.ensureTables('public', tables)
      const { child, done } = startCli(['serve', '--port', '0'], { STARLINE_WAREHOUSE_URL: `duckdb://${path}` })
      const url = await addressOf(child)
      const held = await fetch(new URL('/api/charts/health-held', url))
      assert.equal(held.status, 200)
      const body = (await held.json()) as { engine: string; rows: { held_rows: string }[] }
      assert.equal(body.engine, 'duckdb')
      assert.deepEqual(body.rows.map((r) => r.held_rows), ['0', '0', '0'])
      // The loader can still open the file for writing while serve runs.
      await warehouse.ensureTables('public', tables)
      child.kill('SIGINT')
      assert.equal((await done).code, 0)
    } finally {
      await warehouse.close()
    }
  })

  it('warns when told to serve on another interface', async () => {
    const { child, done } = startCli(['serve', '--host', '0.0.0.0', '--port', '0'], { STARLINE_WAREHOUSE_URL: warehouseUrl })
    const url = await addressOf(child)
    assert.match(url, /^http:\/\/0\.0\.0\.0:\d+\/$/)
    child.kill('SIGINT')
    const result = await done
    assert.equal(result.code, 0)
    assert.match(result.stderr, /WARNING: serving on 0\.0\.0\.0: anyone who can reach this interface can read/)
  })

  it('rejects a port that is not a number with exit status 2', async () => {
    const result = await runCli(['serve', '--port', 'http'], { STARLINE_WAREHOUSE_URL: warehouseUrl })
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--port "http" is not a port/)
  })

  it('exits with status 2 naming --port when the port is in use', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = taken.address() as AddressInfo
      const result = await runCli(['serve', '--port', String(port)], { STARLINE_WAREHOUSE_URL: warehouseUrl })
      assert.equal(result.code, 2)
      assert.match(result.stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is in use. Choose another with --port`))
    } finally {
      taken.close()
    }
  })

  it('exits with the retryable status naming STARLINE_WAREHOUSE_URL for an unreachable warehouse, without its password', async () => {
    const result = await runCli(['serve', '--port', '0'], { STARLINE_WAREHOUSE_URL: 'postgres://starline:hunter2-secret@127.0.0.1:1/warehouse' })
    assert.equal(result.code, EXIT_RETRYABLE)
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
    assert.match(result.stderr, /STARLINE_WAREHOUSE_URL/)
    assert.doesNotMatch(result.stderr, /hunter2/)
  })
})

// `script` gives the demo a terminal, as a person running it has.
const SCRIPT = '/usr/bin/script'

describe('starline demo on a terminal', { skip: existsSync(SCRIPT) ? false : `no ${SCRIPT} to give the demo a terminal` }, () => {
  const cwd = mkdtempSync(join(tmpdir(), 'starline-demo-'))
  after(() => rmSync(cwd, { recursive: true, force: true }))

  it('prints the dashboard address at the end and serves until Ctrl-C', async () => {
    const entry = fileURLToPath(new URL('../../src/runtime/cli/starline.ts', import.meta.url))
    // `exec`: script runs $SHELL -c, and dash (Debian's sh) would otherwise stay
    // as the parent, die of the Ctrl-C itself and report 130 for the demo.
    const command = `exec '${process.execPath}' --import '${import.meta.resolve('tsx')}' '${entry}' demo --scale 0.1`
    const child = spawn(SCRIPT, ['-qefc', command, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    const done = new Promise<number | null>((resolve) => child.on('close', resolve))
    const url = await addressOf(child)
    const sales = await fetch(new URL('/api/charts/sales-by-month', url))
    assert.equal(sales.status, 200)
    assert.ok(((await sales.json()) as { rows: unknown[] }).rows.length > 0)
    child.stdin.write('\x03') // Ctrl-C on the terminal
    assert.equal(await done, 0)
  })
})
