/**
 * The Data API session's handling of statement outcomes moto_server cannot
 * produce (its statements never finish or fail): a scripted client answers
 * DescribeStatement with FINISHED or FAILED. The request side is tested
 * against moto in test/integration/warehouse/redshift-data-api.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RedshiftDataApiSession, type DataApiClient } from '../../../src/warehouse/redshift/redshift-data-api-session.js'
import { RedshiftStatementError } from '../../../src/warehouse/redshift/redshift-errors.js'

type Answer = Record<string, unknown>

/** Answers each command by its name from `script`, in order; records what was sent. */
function scripted(script: Record<string, Answer[]>): { client: DataApiClient; sent: { name: string; input: Answer }[] } {
  const sent: { name: string; input: Answer }[] = []
  const client = {
    send: async (command: { constructor: { name: string }; input: Answer }) => {
      const name = command.constructor.name.replace(/Command$/, '')
      sent.push({ name, input: command.input })
      const next = script[name]?.shift()
      if (!next) throw new Error(`unexpected ${name}`)
      return next
    },
  } as unknown as DataApiClient
  return { client, sent }
}

const target = { kind: 'data-api', target: { workgroup: 'wg' }, database: 'dev' } as const

describe('RedshiftDataApiSession', () => {
  it('polls until FINISHED and returns each batch statement’s changed rows and result rows', async () => {
    const { client, sent } = scripted({
      BatchExecuteStatement: [{ Id: 'b' }],
      DescribeStatement: [
        { Id: 'b', Status: 'SUBMITTED' },
        { Id: 'b', Status: 'STARTED' },
        {
          Id: 'b',
          Status: 'FINISHED',
          SubStatements: [
            { Id: 'b:1', Status: 'FINISHED', ResultRows: 3, HasResultSet: false },
            { Id: 'b:2', Status: 'FINISHED', ResultRows: 1, HasResultSet: true },
          ],
        },
      ],
      GetStatementResult: [{ ColumnMetadata: [{ name: 'n' }, { name: 'big' }], Records: [[{ stringValue: '7' }, { isNull: true }]] }],
    })
    const session = new RedshiftDataApiSession({ target, client, firstPollMs: 1 })
    const results = await session.transaction([{ sql: 'DELETE FROM t WHERE run_id = :run_id', params: { run_id: 'r1' } }, { sql: 'SELECT count(*)::varchar AS n, NULL AS big' }])
    assert.deepEqual(results, [
      { rows: [], rowCount: 3 },
      { rows: [{ n: '7', big: null }], rowCount: 1 },
    ])
    assert.deepEqual(sent[0], {
      name: 'BatchExecuteStatement',
      input: { Database: 'dev', WorkgroupName: 'wg', Sqls: ['DELETE FROM t WHERE run_id = :run_id', 'SELECT count(*)::varchar AS n, NULL AS big'], StatementName: 'starline', Parameters: [{ name: 'run_id', value: 'r1' }] },
    })
    assert.deepEqual(sent.at(-1), { name: 'GetStatementResult', input: { Id: 'b:2' } })
  })

  it('reports which batch statement FAILED with Redshift’s message; a serialization conflict is retryable, bad SQL is not', async () => {
    const failing = (error: string) =>
      scripted({
        BatchExecuteStatement: [{ Id: 'b' }],
        DescribeStatement: [{ Id: 'b', Status: 'FAILED', Error: error, SubStatements: [{ Status: 'FINISHED' }, { Status: 'FAILED', Error: error, QueryString: 'INSERT INTO x' }] }],
      }).client
    const conflict = await new RedshiftDataApiSession({ target, client: failing('ERROR: 1023 Serializable isolation violation on table 123') })
      .transaction([{ sql: 'LOCK x' }, { sql: 'INSERT INTO x' }])
      .catch((e: unknown) => e)
    assert.ok(conflict instanceof RedshiftStatementError)
    assert.equal(conflict.retryable, true)
    assert.match(conflict.message, /Serializable isolation violation .* \(statement 2 of the batch: INSERT INTO x\)/)
    const bad = (await new RedshiftDataApiSession({ target, client: failing('ERROR: column "y" does not exist') })
      .transaction([{ sql: 'LOCK x' }, { sql: 'INSERT INTO x' }])
      .catch((e: unknown) => e)) as RedshiftStatementError
    assert.equal(bad.retryable, false)
  })

  it('reads every page of a result', async () => {
    const { client } = scripted({
      ExecuteStatement: [{ Id: 's' }],
      DescribeStatement: [{ Id: 's', Status: 'FINISHED', HasResultSet: true, ResultRows: 2 }],
      GetStatementResult: [
        { ColumnMetadata: [{ name: 'id' }], Records: [[{ longValue: 1 }]], NextToken: 'p2' },
        { ColumnMetadata: [{ name: 'id' }], Records: [[{ stringValue: '9007199254740993' }]] },
      ],
    })
    const result = await new RedshiftDataApiSession({ target, client }).query({ sql: 'SELECT id::varchar AS id FROM t' })
    assert.deepEqual(result, { rows: [{ id: '1' }, { id: '9007199254740993' }], rowCount: 2 })
  })
})
