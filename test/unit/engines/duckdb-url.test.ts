import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfig } from '../../../src/config/config.js'
import { ConfigError } from '../../../src/config/errors.js'
import { absoluteDuckDbUrl, DuckDbUrlError, duckDbPathOf } from '../../../src/engines/duckdb/duckdb-url.js'

describe('duckDbPathOf', () => {
  it('reads an absolute path after three slashes', () => {
    assert.equal(duckDbPathOf('duckdb:///var/lib/star.duckdb', '/home/ana'), '/var/lib/star.duckdb')
  })

  it('resolves a relative path against the working directory, with or without slashes', () => {
    assert.equal(duckDbPathOf('duckdb:star.duckdb', '/home/ana'), '/home/ana/star.duckdb')
    assert.equal(duckDbPathOf('duckdb://data/star.duckdb', '/home/ana'), '/home/ana/data/star.duckdb')
    assert.equal(duckDbPathOf('duckdb:../shared/star.duckdb', '/home/ana'), '/home/shared/star.duckdb')
  })

  it('decodes %-escapes, so a path with spaces fits in a URL', () => {
    assert.equal(duckDbPathOf('duckdb:///tmp/my%20warehouse/star.duckdb'), '/tmp/my warehouse/star.duckdb')
  })

  for (const url of ['duckdb:', 'duckdb://', 'duckdb:///tmp/', 'duckdb:///tmp/x.duckdb?access_mode=read_only', 'duckdb:///tmp/%zz', 'postgres://h/db']) {
    it(`rejects ${JSON.stringify(url)} with an example of a good URL`, () => {
      assert.throws(() => duckDbPathOf(url), (error: Error) => error instanceof DuckDbUrlError && /duckdb:\/\/\/absolute\/path/.test(error.message))
    })
  }
})

describe('absoluteDuckDbUrl', () => {
  it('names the same file from any directory, escaping what a URL cannot hold', () => {
    const url = absoluteDuckDbUrl('duckdb:my star.duckdb', '/home/ana')
    assert.equal(url, 'duckdb:///home/ana/my%20star.duckdb')
    assert.equal(duckDbPathOf(url, '/elsewhere'), '/home/ana/my star.duckdb')
  })
})

describe('STARLINE_WAREHOUSE_URL with duckdb:', () => {
  it('is accepted and made absolute against the directory the config is read in', () => {
    const config = loadConfig({ env: { STARLINE_WAREHOUSE_URL: 'duckdb:warehouse/star.duckdb' }, cwd: '/srv/analytics' })
    assert.equal(config.warehouseUrl, 'duckdb:///srv/analytics/warehouse/star.duckdb')
  })

  it('is refused naming the setting when it names no file', () => {
    assert.throws(
      () => loadConfig({ env: { STARLINE_WAREHOUSE_URL: 'duckdb://' } }),
      (error: Error) => error instanceof ConfigError && /^STARLINE_WAREHOUSE_URL: .*names no database file/.test(error.message),
    )
  })
})
