/**
 * No row contents in any message: the errors real PostgreSQL and DuckDB
 * raise over bad data quote the data, and the engines' error mappers keep
 * what failed and where but none of the values. One line each.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { driverMessage } from '../../../src/core/driver-message.js'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { loadError } from '../../../src/warehouse/duckdb/duckdb-errors.js'
import { warehouseError } from '../../../src/warehouse/postgres/postgres-errors.js'

const ACCOUNT = '40-11-22 31926819'
const dir = mkdtempSync(join(tmpdir(), 'starline-driver-errors-'))
let server: EmbeddedPostgresServer
before(async () => {
  server = await startEmbeddedPostgres()
})
after(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function rejection(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work()
  } catch (error) {
    return error
  }
  assert.fail('expected a failure')
}

function assertWithoutValues(message: string, ...values: string[]): void {
  assert.equal(message.split('\n').length, 1, `one line: ${message}`)
  for (const value of values) assert.ok(!message.includes(value), `"${value}" is not shown: ${message}`)
}

describe('driver errors over bad data', () => {
  it('keep PostgreSQL COPY and cast failures to what and where, without the values', async () => {
    const url = await server.createDatabase('driver_errors')
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query('CREATE TABLE stage (id integer, account text, amount numeric(4,2))')
      const copy = await rejection(() => pipeline(Readable.from([`1,${ACCOUNT},1.00\n`, `x${ACCOUNT},${ACCOUNT},2.00\n`]), client.query(copyFrom('COPY stage FROM STDIN (FORMAT csv)'))))
      const cast = await rejection(() => client.query('SELECT $1::integer', [ACCOUNT]))
      const range = await rejection(() => client.query("SELECT '99999999999'::integer"))
      for (const error of [copy, cast, range]) {
        const mapped = warehouseError(error, { describe: 'the warehouse', runId: '20241119T090000000Z', table: 'fact_payment' })
        assertWithoutValues(mapped.message, ACCOUNT, '99999999999')
        assert.match(mapped.message, /^Cannot load run 20241119T090000000Z into "fact_payment": /)
      }
      assert.match(driverMessage(copy), /invalid input syntax for type integer: "…"/)
      assert.match(driverMessage(range), /value "…" is out of range for type integer/)
    } finally {
      await client.end()
    }
  })

  it('keep DuckDB CSV and conversion failures to what and where, without the line or the value', async () => {
    const path = join(dir, 'bad.csv')
    writeFileSync(path, `id,account\n1,"${ACCOUNT}"\n2,"${ACCOUNT}",extra\n`)
    const db = await openDuckDb({ scratchDir: dir })
    try {
      const csv = await rejection(() => db.all(`SELECT * FROM read_csv('${path}', header = true, auto_detect = false, columns = {'id': 'INTEGER', 'account': 'VARCHAR'})`))
      const cast = await rejection(() => db.all(`SELECT '${ACCOUNT}'::INTEGER`))
      assert.match(String((csv as Error).message), new RegExp(ACCOUNT), 'DuckDB itself prints the line')
      for (const error of [csv, cast]) assertWithoutValues(loadError(error, '20241119T090000000Z', 'fact_payment').message, ACCOUNT)
      assert.match(driverMessage(csv), /CSV Error on Line: 3: Expected Number of Columns: 2 Found: 3/)
    } finally {
      db.close()
    }
  })
})
