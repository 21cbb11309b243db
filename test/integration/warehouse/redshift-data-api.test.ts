/**
 * The Data API connector against moto_server's redshift-data. moto 5.2
 * stores statements with canned answers: it never runs SQL (statements stay
 * STARTED), answers GetStatementResult with fixed rows, has no
 * BatchExecuteStatement (HTTP 500), and writes timestamps as ISO text where
 * the SDK expects epoch seconds (a middleware below rewrites them). So these
 * tests check the request shape, the polling, cancellation on timeout, the
 * result decoding and the error mapping, not the SQL (see redshift-sql.test.ts).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DescribeStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data'
import { parseRedshiftUrl } from '../../../src/warehouse/redshift/redshift-config.js'
import { RedshiftDataApiSession } from '../../../src/warehouse/redshift/redshift-data-api-session.js'
import { RedshiftStatementError, warehouseError } from '../../../src/warehouse/redshift/redshift-errors.js'
import { MOTO_MISSING, startMoto, type MotoServer } from '../../support/moto-server.js'

type Target = Extract<ReturnType<typeof parseRedshiftUrl>, { kind: 'data-api' }>

/** moto writes `"CreatedAt": "2026-12-03T07:28:56Z"`; the SDK reads epoch seconds. */
function motoClient(moto: MotoServer): RedshiftDataClient {
  const client = new RedshiftDataClient({ endpoint: moto.endpoint, region: 'eu-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 })
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args)
      const response = result.response as { body?: AsyncIterable<Uint8Array> & { transformToString?: () => Promise<string> } }
      if (!response.body) return result
      const chunks: Buffer[] = []
      for await (const chunk of response.body) chunks.push(Buffer.from(chunk))
      const text = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/"(CreatedAt|UpdatedAt)": "([^"]+)"/g, (_, key: string, iso: string) => `"${key}": ${Date.parse(iso) / 1000}`)
      const { Readable } = await import('node:stream')
      ;(result.response as { body: unknown }).body = Readable.from([Buffer.from(text)])
      return result
    },
    { step: 'deserialize', name: 'motoTimestamps', priority: 'low' },
  )
  return client
}

describe('RedshiftDataApiSession on moto_server', { skip: MOTO_MISSING }, () => {
  let moto: MotoServer
  let client: RedshiftDataClient

  before(async () => {
    moto = await startMoto()
    client = motoClient(moto)
  })
  after(async () => {
    client?.destroy()
    await moto?.stop()
  })

  const session = (url: string, timeoutMs = 300) =>
    new RedshiftDataApiSession({ target: parseRedshiftUrl(url) as Target, client, firstPollMs: 20, maxPollMs: 60, timeoutMs })

  it('sends the SQL, the named parameters and the cluster, user and database; polls, then cancels a statement that does not finish', async () => {
    const s = session('redshift-data://cluster/analytics-1/dev?db_user=loader')
    const error = await s.query({ sql: 'SELECT "run_id" FROM "star"."_starline_loads" WHERE "run_id" = :run_id', params: { run_id: '20241119T093000Z' } }).catch((e: unknown) => e)
    assert.ok(error instanceof RedshiftStatementError, String(error))
    assert.equal(error.retryable, true)
    assert.match(error.message, /did not finish within 0 s and was cancelled/)
    const id = String(error.context.statementId)
    const described = await client.send(new DescribeStatementCommand({ Id: id }))
    assert.equal(described.Status, 'ABORTED', 'the timed-out statement was cancelled')
    assert.equal(described.QueryString, 'SELECT "run_id" FROM "star"."_starline_loads" WHERE "run_id" = :run_id')
    assert.deepEqual(described.QueryParameters, [{ name: 'run_id', value: '20241119T093000Z' }])
    assert.equal(described.ClusterIdentifier, 'analytics-1')
    assert.equal(described.Database, 'dev')
    assert.equal(described.DbUser, 'loader')
  })

  it('authenticates with a secret when the URL names one, and sends no parameters a statement does not use', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:starline-abc'
    const error = (await session(`redshift-data://cluster/analytics-1/dev?secret_arn=${encodeURIComponent(arn)}`).query({ sql: 'SELECT 1' }).catch((e: unknown) => e)) as RedshiftStatementError
    const described = await client.send(new DescribeStatementCommand({ Id: String(error.context.statementId) }))
    assert.equal(described.SecretArn, arn)
    assert.equal(described.DbUser, undefined)
    assert.deepEqual(described.QueryParameters ?? [], [])
  })

  it('decodes every page of a statement result into text rows keyed by column name', async () => {
    const s = session('redshift-data://serverless/wg/dev')
    const error = (await s.query({ sql: 'SELECT 1' }).catch((e: unknown) => e)) as RedshiftStatementError
    // moto answers any statement id with its canned rows.
    const rows = await s.fetchRows(String(error.context.statementId))
    assert.deepEqual(rows, [
      { Number: '10', Street: 'Alpha st', City: 'Vancouver' },
      { Number: '50', Street: 'Beta st', City: 'Toronto' },
      { Number: '100', Street: 'Gamma av', City: 'Seattle' },
    ])
  })

  it('maps a failed BatchExecuteStatement (a server error) to a retryable load error naming the run', async () => {
    const error = await session('redshift-data://serverless/wg/dev')
      .transaction([{ sql: 'INSERT INTO "star"."t" VALUES (:v)', params: { v: 1 } }, { sql: 'SELECT 1' }])
      .catch((e: unknown) => e)
    const mapped = warehouseError(error, { describe: 'the Redshift Data API (workgroup "wg")', runId: '20241119T093000Z' })
    assert.equal(mapped.retryable, true, String(error))
    assert.match(mapped.message, /^Cannot load run 20241119T093000Z on the Redshift Data API \(workgroup "wg"\): .*safe to run the load again/)
  })

  it('refuses a transaction larger than a Data API batch before sending anything', async () => {
    const statements = Array.from({ length: 41 }, () => ({ sql: 'SELECT 1' }))
    await assert.rejects(session('redshift-data://serverless/wg/dev').transaction(statements), /41 statements must run in one transaction, more than the 40 a Data API batch takes/)
  })
})
