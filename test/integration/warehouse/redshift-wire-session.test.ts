/**
 * The Redshift wire session on a real PostgreSQL: failures inside its
 * transaction are mapped once, retryable by Redshift's classifier.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { RedshiftStatementError } from '../../../src/warehouse/redshift/redshift-errors.js'
import { RedshiftWireSession } from '../../../src/warehouse/redshift/redshift-wire-session.js'

let server: EmbeddedPostgresServer
before(async () => {
  server = await startEmbeddedPostgres()
})
after(() => server?.stop())

describe('RedshiftWireSession', () => {
  it('maps a serialization conflict inside a transaction to a retryable error, and bad SQL to a terminal one', async () => {
    const pool = new pg.Pool({ connectionString: await server.createDatabase('redshift_wire_errors'), max: 2 })
    pool.on('error', () => {})
    const session = new RedshiftWireSession({ pool })
    try {
      const failures = [
        // What Redshift says on a serializable isolation conflict (error 1023).
        "DO $$ BEGIN RAISE EXCEPTION '1023 DETAIL: Serializable isolation violation on table - 123456'; END $$",
        // A serialization failure by SQLSTATE (40001), as the wire protocol reports it.
        "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure'; END $$",
        'SELEKT 1',
      ]
      const outcomes: [boolean, boolean][] = []
      for (const sql of failures) {
        await assert.rejects(session.transaction([{ sql: 'SELECT 1' }, { sql }]), (error: Error) => {
          outcomes.push([error instanceof RedshiftStatementError, (error as RedshiftStatementError).retryable])
          return true
        })
      }
      assert.deepEqual(outcomes, [
        [true, true],
        [true, true],
        [true, false],
      ])
      // A query outside a transaction is mapped alike.
      await assert.rejects(session.query({ sql: 'SELEKT 1' }), RedshiftStatementError)
    } finally {
      await session.close()
      await pool.end()
    }
  })
})
