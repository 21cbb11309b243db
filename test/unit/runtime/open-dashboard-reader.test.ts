import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DashboardQueryError } from '../../../src/runtime/http/errors.js'
import { openDashboardReader } from '../../../src/runtime/http/open-dashboard-reader.js'

describe('openDashboardReader', () => {
  it('picks the reader by the URL scheme', async () => {
    for (const [url, engine] of [
      ['postgres://reader@dwh:5432/warehouse', 'postgres'],
      ['postgresql://reader@dwh/warehouse', 'postgres'],
      ['duckdb:///data/warehouse.duckdb', 'duckdb'],
      ['DuckDB:warehouse.duckdb', 'duckdb'],
    ] as const) {
      const reader = openDashboardReader(url, 'public')
      assert.equal(reader.engine, engine, url)
      await reader.close()
    }
  })

  it('refuses another kind of database, naming the setting and the schemes it takes', () => {
    assert.throws(
      () => openDashboardReader('mysql://u:secret@h/db', 'public'),
      (error: unknown) =>
        error instanceof DashboardQueryError && /"mysql:" warehouse.*STARLINE_WAREHOUSE_URL.*postgres:\/\/.*duckdb:\/\//.test(error.message) && !/secret/.test(error.message),
    )
  })

  it('says plainly that a Redshift warehouse is not served', () => {
    assert.throws(() => openDashboardReader('redshift://u@cluster:5439/dev', 'public'), /does not serve a Redshift warehouse/)
  })
})
