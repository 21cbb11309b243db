/**
 * `starline example twitter` and `starline load-parquet` as a user runs
 * them, into a DuckDB warehouse file.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { runCli } from '../support/cli-process.js'

describe('starline load-parquet', () => {
  it('loads the generated Twitter example and prints the {statusCode, body} answer with --json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starline-cli-twitter-'))
    const example = await runCli(['example', 'twitter', '--out', dir, '--rows', '40'], {})
    assert.equal(example.code, 0, example.stderr)
    assert.match(example.stdout, /Wrote the Twitter example .*: 8 Parquet files \(users 10, user_followers 10, tweets 40 rows\)/)

    const env = { STARLINE_WAREHOUSE_URL: `duckdb://${join(dir, 'warehouse.duckdb')}` }
    const loaded = await runCli(['load-parquet', '--spec', join(dir, 'spec.json'), '--json'], env)
    assert.equal(loaded.code, 0, loaded.stderr)
    const answer = JSON.parse(loaded.stdout) as { statusCode: number; body: string }
    assert.equal(answer.statusCode, 200)
    const body = JSON.parse(answer.body) as { schema: string; tables: { name: string; mode: string; rows: number; created: boolean }[] }
    assert.deepEqual(body.tables.map((t) => [t.name, t.mode, t.rows, t.created]), [
      ['users', 'truncate', 10, true],
      ['user_followers', 'truncate', 10, true],
      ['tweets', 'truncate', 40, true],
    ])

    const again = await runCli(['load-parquet', '--spec', join(dir, 'spec.json')], env)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /tara_test\.tweets: unchanged since its last load, skipped from 3 file\(s\)/)
  })

  it('exits 1 with the reason on one line when the spec points at nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starline-cli-loader-'))
    const spec = join(dir, 'spec.json')
    writeFileSync(spec, JSON.stringify({ schema: 's', tables: [{ name: 't', prefix: 'missing/', columns: [{ name: 'id', type: 'bigint' }] }] }))
    const result = await runCli(['load-parquet', '--spec', spec, '--json'], { STARLINE_WAREHOUSE_URL: `duckdb://${join(dir, 'w.duckdb')}` })
    assert.equal(result.code, 1)
    assert.equal(JSON.parse(result.stdout).statusCode, 400)
    assert.match(result.stderr, /^starline: Table "t": no Parquet file under file:.*missing\/\. Check the spec's prefix/)
    assert.equal(result.stderr.trim().split('\n').length, 1)
  })

  it('exits 2 when no warehouse is configured', async () => {
    const result = await runCli(['load-parquet', '--spec', 'x.json'], {})
    assert.equal(result.code, 2)
    assert.match(result.stderr, /STARLINE_WAREHOUSE_URL is not set/)
  })
})
