/**
 * The warehouse contract against a real PostgreSQL (embedded, one database per test).
 */
import { after, before } from 'node:test'
import pg from 'pg'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
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
