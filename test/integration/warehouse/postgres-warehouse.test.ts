/**
 * The warehouse contract against a real PostgreSQL (embedded, one database per test).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { WarehouseError } from '../../../src/warehouse/errors.js'
import { PostgresWarehouse } from '../../../src/warehouse/postgres/postgres-warehouse.js'
import { describeWarehouse } from './warehouse-contract.js'

let server: EmbeddedPostgresServer
let databases = 0
before(async () => {
  server = await startEmbeddedPostgres()
})
after(() => server?.stop())

describeWarehouse('PostgresWarehouse', async () => {
  const url = await server.createDatabase(`warehouse_contract_${++databases}`)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return {
    warehouse: new PostgresWarehouse({ url }),
    async rows(schema, table, columns, orderBy) {
      const result = await client.query<(string | null)[]>({
        // Aliased: ORDER BY a bare output name would sort the text, not the column.
        text: `SELECT ${columns.map((c, i) => `${quoteIdent(c)}::text AS c${i}`).join(', ')} FROM ${qualify(schema, table)} ORDER BY ${orderBy.map(quoteIdent).join(', ')}`,
        rowMode: 'array',
      })
      return result.rows
    },
    cleanup: () => client.end(),
  }
})

describe('PostgresWarehouse, behind another session holding its schema lock', () => {
  it('fails retryably after its wait, naming the lock, instead of waiting forever', async () => {
    const url = await server.createDatabase(`warehouse_lock_${++databases}`)
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    const warehouse = new PostgresWarehouse({ url, lockWaitMs: 300 })
    try {
      await holder.query('BEGIN')
      await holder.query("SELECT pg_advisory_xact_lock(hashtextextended('starline:' || $1, 0))", ['public'])
      await assert.rejects(warehouse.ensureTables('public', []), (error: unknown) => {
        assert.ok(error instanceof WarehouseError, String(error))
        assert.equal(error.retryable, true)
        assert.match(error.message, /Another session has held the load lock of schema "public" .* for 0.3 s/)
        return true
      })
      await holder.query('COMMIT')
      await warehouse.ensureTables('public', [])
    } finally {
      await warehouse.close()
      await holder.end()
    }
  })
})
