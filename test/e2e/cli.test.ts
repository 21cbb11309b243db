/**
 * The `starline` command as a user runs it: exit codes, one-line errors that
 * name the setting to fix, and a whole generate -> run -> simulate -> run.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../src/runtime/embedded-postgres-server.js'
import { runCli } from '../support/cli-process.js'

const lakeDir = mkdtempSync(join(tmpdir(), 'starline-cli-'))
const lake = {
  STARLINE_INGESTION_URL: pathToFileURL(join(lakeDir, 'ingestion')).href,
  STARLINE_PROCESSED_URL: pathToFileURL(join(lakeDir, 'processed')).href,
}
// Nothing listens on port 1: connections are refused at once.
const UNREACHABLE = 'postgres://starline:hunter2-secret@127.0.0.1:1/totesys'

after(() => rmSync(lakeDir, { recursive: true, force: true }))

function assertOneLineNaming(stderr: string, setting: string): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `one line: ${stderr}`)
  assert.match(lines[0]!, new RegExp(setting))
}

describe('starline command', () => {
  it('prints help listing every command', async () => {
    const result = await runCli(['--help'], {})
    assert.equal(result.code, 0)
    for (const command of ['extract', 'transform', 'load', 'run', 'generate', 'simulate', 'demo']) assert.match(result.stdout, new RegExp(`\\b${command}\\b`))
  })

  for (const [command, flag] of [
    ['extract', '--accept-schema-change'],
    ['transform', '--dry-run'],
    ['load', '--dry-run'],
    ['run', '--every'],
    ['status', '--json'],
    ['generate', '--scale'],
    ['simulate', '--days'],
    ['demo', '--scale'],
  ] as const) {
    it(`prints help for ${command} alone, with its flags and examples`, async () => {
      const result = await runCli([command, '--help'], {})
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, new RegExp(`^Usage: starline ${command} `))
      assert.match(result.stdout, new RegExp(`${flag}\\b`))
      assert.match(result.stdout, new RegExp(`Examples:\\n  \\$ starline ${command}`))
      assert.doesNotMatch(result.stdout, /Commands:/, 'not the global page')
    })

    it(`rejects a flag ${command} does not take, with exit status 2 and one line`, async () => {
      const result = await runCli([command, '--bogus-flag'], {})
      assert.equal(result.code, 2)
      assert.equal(result.stderr, `starline ${command}: unknown option '--bogus-flag'. See starline ${command} --help.\n`)
    })
  }

  it('rejects a flag of another command', async () => {
    const result = await runCli(['transform', '--accept-schema-change'], {})
    assert.equal(result.code, 2)
    assert.match(result.stderr, /unknown option '--accept-schema-change'/)
  })

  it('rejects an invalid log level, naming the choices', async () => {
    const result = await runCli(['status', '--log-level', 'loud'], {})
    assert.equal(result.code, 2)
    assert.match(result.stderr, /debug.*silent/)
  })

  it('rejects --every with --cron, and a bad cron expression, as usage errors', async () => {
    assert.equal((await runCli(['run', '--every', '5m', '--cron', '* * * * *'], {})).code, 2)
    const bad = await runCli(['run', '--cron', 'every day'], { ...lake, STARLINE_SOURCE_URL: UNREACHABLE, STARLINE_WAREHOUSE_URL: UNREACHABLE })
    assert.equal(bad.code, 2)
    assertOneLineNaming(bad.stderr, '--cron')
  })

  it('still takes flags written before the command, as the command line always did', async () => {
    const result = await runCli(['--json', '--log-level', 'error', 'status'], { ...lake })
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(result.stdout).pending, { transform: [], load: [] })
  })

  it('says --every belongs to run when it is given to another command before its name', async () => {
    const result = await runCli(['--every', '5m', 'status'], {})
    assert.equal(result.code, 2)
    assert.equal(result.stderr, 'starline status: --every belongs to run, which it repeats: starline run --every <when>. See starline run --help.\n')
  })

  it('takes --log-level on serve', async () => {
    const result = await runCli(['serve', '--help'], {})
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /--log-level <level>/)
    const bad = await runCli(['serve', '--log-level', 'loud'], {})
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^starline serve: .*debug.*silent/)
  })

  it('rejects an unknown command with exit status 2', async () => {
    const result = await runCli(['explode'], {})
    assert.equal(result.code, 2)
    assert.match(result.stderr, /unknown command "explode"/)
  })

  describe('bad configuration', () => {
    const cases: [string, string[], Record<string, string>, string][] = [
      ['a missing source URL', ['extract'], { ...lake }, 'STARLINE_SOURCE_URL'],
      ['a source URL of another database kind', ['extract'], { ...lake, STARLINE_SOURCE_URL: 'mysql://u@h/db' }, 'STARLINE_SOURCE_URL'],
      ['a source URL without a database', ['extract'], { ...lake, STARLINE_SOURCE_URL: 'postgres://u@h' }, 'STARLINE_SOURCE_URL'],
      ['a missing warehouse URL', ['load'], { ...lake }, 'STARLINE_WAREHOUSE_URL'],
      ['an invalid warehouse URL', ['load'], { ...lake, STARLINE_WAREHOUSE_URL: 'not a url' }, 'STARLINE_WAREHOUSE_URL'],
      ['an unsupported lake URL', ['transform'], { STARLINE_INGESTION_URL: 'ftp://x/y' }, 'STARLINE_INGESTION_URL'],
      ['an invalid extract lag', ['extract'], { ...lake, STARLINE_SOURCE_URL: UNREACHABLE, STARLINE_EXTRACT_LAG: 'soon' }, 'STARLINE_EXTRACT_LAG'],
      ['a missing warehouse URL for run, before any work', ['run'], { ...lake, STARLINE_SOURCE_URL: UNREACHABLE }, 'STARLINE_WAREHOUSE_URL'],
    ]
    for (const [what, args, env, setting] of cases) {
      it(`exits 2 naming ${setting} for ${what}`, async () => {
        const result = await runCli(args, env)
        assert.equal(result.code, 2, result.stderr)
        assertOneLineNaming(result.stderr, setting)
      })
    }

    it('exits 75 (retry later) naming STARLINE_SOURCE_URL for an unreachable source, without its password', async () => {
      const result = await runCli(['extract'], { ...lake, STARLINE_SOURCE_URL: UNREACHABLE, STARLINE_RETRIES: '1' })
      // A refused connection is transient: the exit status tells a scheduler to try again.
      assert.equal(result.code, 75, result.stderr)
      assertOneLineNaming(result.stderr, 'STARLINE_SOURCE_URL')
      assert.match(result.stderr, /127\.0\.0\.1:1/)
      assert.doesNotMatch(result.stderr + result.stdout, /hunter2/)
    })

    it('exits 75 (retry later) naming STARLINE_WAREHOUSE_URL for an unreachable warehouse, without its password', async () => {
      const result = await runCli(['load'], { ...lake, STARLINE_WAREHOUSE_URL: UNREACHABLE, STARLINE_RETRIES: '1' })
      assert.equal(result.code, 75, result.stderr)
      assertOneLineNaming(result.stderr, 'STARLINE_WAREHOUSE_URL')
      assert.doesNotMatch(result.stderr + result.stdout, /hunter2/)
    })
  })

  describe('against a real database', () => {
    let server: EmbeddedPostgresServer
    let env: Record<string, string>

    before(async () => {
      server = await startEmbeddedPostgres()
      env = {
        ...lake,
        STARLINE_SOURCE_URL: await server.createDatabase('totesys'),
        STARLINE_WAREHOUSE_URL: await server.createDatabase('warehouse'),
        STARLINE_WAREHOUSE_SCHEMA: 'analytics',
        STARLINE_EXTRACT_LAG: '0ms',
      }
    })
    after(() => server?.stop())

    it('generates a source, runs a cycle, simulates a day and runs again, reporting each as JSON', async () => {
      const generated = await runCli(['generate', '--scale', '0.05', '--until', '2024-11-19T00:00:00Z', '--json'], env)
      assert.equal(generated.code, 0, generated.stderr)
      const rows = JSON.parse(generated.stdout).rows as Record<string, number>
      assert.equal(Object.keys(rows).length, 11)

      const first = await runCli(['run', '--json'], env)
      assert.equal(first.code, 0, first.stderr)
      const firstSummary = JSON.parse(first.stdout)
      assert.equal(firstSummary.extract.rows, Object.values(rows).reduce((a, b) => a + b, 0), 'every source row extracted')
      assert.equal(firstSummary.load.runs.length, 1)

      const simulated = await runCli(['simulate', '--days', '1', '--json'], env)
      assert.equal(simulated.code, 0, simulated.stderr)

      const second = await runCli(['run'], env)
      assert.equal(second.code, 0, second.stderr)
      assert.match(second.stdout, /extract: run \d{8}T\d{9}Z/)
      assert.match(second.stdout, /load: run /)

      const idle = await runCli(['run'], env)
      assert.equal(idle.code, 0, idle.stderr)
      assert.match(idle.stdout, /extract: no changes in the source/)
      assert.match(idle.stdout, /load: nothing to load/)
    })

    it('refuses to generate over an existing source unless told to replace it', async () => {
      const again = await runCli(['generate', '--scale', '0.05'], env)
      assert.equal(again.code, 1)
      assert.match(again.stderr, /replace/)
    })
  })
})
