/**
 * The Parquet loader's Lambda handler, in process, against a real
 * PostgreSQL: scheduled and S3 events, marker files, duplicate events, a
 * secret from moto_server's Secrets Manager. The table prefixes are s3://
 * URLs; a filesystem store stands in for the bucket (the S3 store is tested
 * with moto in its own suite).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { TwitterSampleSummary } from '../../../src/datasets/twitter/twitter-sample.js'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../../../src/runtime/embedded-postgres-server.js'
import { StarlineError } from '../../../src/core/starline-error.js'
import { createParquetLoaderHandler } from '../../../src/runtime/lambda/parquet-loader-handler.js'
import { MOTO_MISSING, startMoto, useEnv } from '../../support/moto-server.js'
import { captureOutput } from '../../support/lambda-events.js'
import { twitterSample } from '../../support/twitter-loader.js'

const BUCKET = 'research-lake'
const FOLDERS: Record<string, string> = { users: 'users', user_followers: 'user followers', tweets: 'tweets' }

let server: EmbeddedPostgresServer
let sample: TwitterSampleSummary
let counter = 0
before(async () => {
  server = await startEmbeddedPostgres()
  sample = await twitterSample(100)
})
after(() => server?.stop())

/** The sample's spec with s3:// prefixes (user_followers in a folder with a space), tweets waiting for `_SUCCESS`. */
function inlineSpec(): string {
  const raw = JSON.parse(readFileSync(sample.specFile, 'utf8')) as { tables: Record<string, unknown>[] }
  for (const table of raw.tables) {
    table.prefix = `s3://${BUCKET}/twitter/${FOLDERS[table.name as string]}/`
    if (table.name === 'tweets') table.marker = '_SUCCESS'
  }
  return JSON.stringify(raw)
}

/** s3://research-lake/twitter/<folder>/ -> the sample's data/<table>/ folder. */
function openStore(url: string) {
  const folder = decodeURI(url).replace(`s3://${BUCKET}/twitter/`, '').replace(/\/$/, '')
  const table = Object.keys(FOLDERS).find((t) => FOLDERS[t] === folder)
  assert.ok(table, `no table folder for ${url}`)
  return new FsObjectStore(join(sample.dir, 'data', table))
}

async function handlerWithWarehouse(env: Record<string, string> = {}) {
  const url = await server.createDatabase(`handler_${++counter}`)
  return createParquetLoaderHandler({ env: { STARLINE_LOADER_SPEC: inlineSpec(), STARLINE_WAREHOUSE_URL: url, STARLINE_LOG_LEVEL: 'silent', ...env }, openStore })
}

function s3Event(...keys: string[]) {
  return {
    Records: keys.map((key) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key } } })),
  }
}

function body(answer: { body: string }) {
  return JSON.parse(answer.body) as { schema: string; tables: { name: string; rows: number; created: boolean; skipped: boolean }[]; error?: string }
}

describe('parquet loader handler', () => {
  it('loads every table for a scheduled event and skips them all on a duplicate', async () => {
    const handler = await handlerWithWarehouse()
    const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-12-03T06:00:00Z' }
    const first = await handler(scheduled)
    assert.equal(first.statusCode, 200, first.body)
    assert.deepEqual(
      body(first).tables.map((t) => [t.name, t.rows, t.created, t.skipped]),
      [['users', 25, true, false], ['user_followers', 25, true, false], ['tweets', 100, true, false]],
    )
    const again = await handler(scheduled)
    assert.equal(again.statusCode, 200)
    assert.deepEqual(body(again).tables.map((t) => [t.name, t.rows, t.skipped]), [['users', 0, true], ['user_followers', 0, true], ['tweets', 0, true]])
  })

  it('loads only the table an S3 event names, decoding "+" as a space, and nothing twice', async () => {
    const handler = await handlerWithWarehouse()
    const first = await handler(s3Event('twitter/user+followers/_SUCCESS'))
    assert.equal(first.statusCode, 200, first.body)
    assert.deepEqual(body(first).tables.map((t) => [t.name, t.rows, t.skipped]), [['user_followers', 25, false]])
    const duplicate = await handler(s3Event('twitter/user+followers/_SUCCESS'))
    assert.deepEqual(body(duplicate).tables.map((t) => [t.name, t.rows, t.skipped]), [['user_followers', 0, true]])
  })

  it('waits for the marker of a table that names one, and ignores objects outside every prefix', async () => {
    const handler = await handlerWithWarehouse()
    const part = await handler(s3Event('twitter/tweets/part-00000.snappy.parquet', 'elsewhere/file.parquet'))
    assert.equal(part.statusCode, 200)
    assert.deepEqual(body(part).tables, [])
    const marker = await handler(s3Event('twitter/tweets/_SUCCESS'))
    assert.deepEqual(body(marker).tables.map((t) => [t.name, t.rows]), [['tweets', 100]])
    // users names no marker: a part file is enough.
    const users = await handler(s3Event('twitter/users/part-00001-c000.snappy.parquet'))
    assert.deepEqual(body(users).tables.map((t) => [t.name, t.rows]), [['users', 25]])
  })

  it('answers 400 with the reason when no warehouse is configured', async () => {
    const handler = createParquetLoaderHandler({ env: { STARLINE_LOADER_SPEC: inlineSpec(), STARLINE_LOG_LEVEL: 'silent' }, openStore })
    const answer = await handler({})
    assert.equal(answer.statusCode, 400)
    assert.match(body(answer).error!, /Set STARLINE_WAREHOUSE_URL or STARLINE_WAREHOUSE_SECRET_ID/)
  })

  it('throws a retryable failure of an S3 or EventBridge event so Lambda retries it, and answers 503 to a direct invocation', async () => {
    // Nothing listens on port 1: the warehouse is unreachable, a retryable failure.
    const env = { STARLINE_LOADER_SPEC: inlineSpec(), STARLINE_WAREHOUSE_URL: 'postgres://starline@127.0.0.1:1/none', STARLINE_LOG_LEVEL: 'silent' }
    const handler = createParquetLoaderHandler({ env, openStore })
    for (const event of [s3Event('twitter/users/part-00001-c000.snappy.parquet'), { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }]) {
      await assert.rejects(handler(event), (error: StarlineError) => {
        assert.ok(error instanceof StarlineError)
        assert.equal(error.retryable, true)
        assert.match(error.message, /Cannot connect to the warehouse database/)
        return true
      })
    }
    const direct = await handler({})
    assert.equal(direct.statusCode, 503)
    assert.equal(JSON.parse(direct.body).retryable, true)
    // A terminal failure of an S3 event is answered, not thrown: a retry would fail the same way.
    const unconfigured = createParquetLoaderHandler({ env: { STARLINE_LOADER_SPEC: inlineSpec(), STARLINE_LOG_LEVEL: 'silent' }, openStore })
    assert.equal((await unconfigured(s3Event('twitter/users/part-00001-c000.snappy.parquet'))).statusCode, 400)
  })

  it('reads the warehouse URL from a Secrets Manager secret', { skip: MOTO_MISSING }, async () => {
    const moto = await startMoto()
    const undo = useEnv(moto.env)
    try {
      const url = await server.createDatabase(`handler_${++counter}`)
      const secret = await new SecretsManagerClient({}).send(new CreateSecretCommand({ Name: 'loader/warehouse', SecretString: JSON.stringify({ url }) }))
      const handler = createParquetLoaderHandler({
        env: { STARLINE_LOADER_SPEC: inlineSpec(), STARLINE_WAREHOUSE_SECRET_ID: secret.ARN!, STARLINE_LOG_LEVEL: 'silent' },
        openStore,
      })
      const answer = await handler({})
      assert.equal(answer.statusCode, 200, answer.body)
      assert.equal(body(answer).tables.length, 3)
      assert.doesNotMatch(answer.body, /starline-local/)
    } finally {
      undo()
      await moto.stop()
    }
  })

  it('reads a Redshift credentials secret as the other functions do, with Redshift\'s default port 5439', { skip: MOTO_MISSING }, async () => {
    const moto = await startMoto()
    const undo = useEnv(moto.env)
    try {
      // The shape Redshift writes for managed credentials, without a port: nothing listens on 127.0.0.1:5439 here.
      const value = { engine: 'redshift', host: '127.0.0.1', username: 'loader', password: 'hunter2-secret', dbname: 'dev' }
      const secret = await new SecretsManagerClient({}).send(new CreateSecretCommand({ Name: 'loader/redshift', SecretString: JSON.stringify(value) }))
      const handler = createParquetLoaderHandler({
        env: { STARLINE_LOADER_SPEC: inlineSpec(), STARLINE_WAREHOUSE_SECRET_ID: secret.ARN!, STARLINE_REDSHIFT_IAM_ROLE: 'arn:aws:iam::123456789012:role/RedshiftRole', STARLINE_LOG_LEVEL: 'silent' },
        openStore,
      })
      const answer = await handler({})
      assert.equal(answer.statusCode, 503, answer.body)
      assert.match(body(answer).error!, /127\.0\.0\.1:5439/)
      assert.doesNotMatch(answer.body, /hunter2/)
    } finally {
      undo()
      await moto.stop()
    }
  })

  it('writes the EMF metrics the other functions write: rows moved and run time, Function=parquet_loader', async () => {
    const handler = await handlerWithWarehouse()
    const { result, output } = await captureOutput(() => handler({}))
    assert.equal(result?.statusCode, 200, result?.body)
    const rows = body(result!).tables.reduce((sum, t) => sum + t.rows, 0)
    assert.ok(rows > 0)
    const [metrics] = output.metrics
    assert.equal(output.metrics.length, 1)
    assert.equal(metrics!.Function, 'parquet_loader')
    assert.equal(metrics!.RowsMoved, rows)
    assert.equal(typeof metrics!.RunDuration, 'number')
    assert.deepEqual((metrics!._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics.map((m) => m.Namespace), ['Starline'])
  })
})
