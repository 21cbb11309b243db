/**
 * What the Lambda tests share: a function's environment with its secrets in
 * moto's Secrets Manager, a reference run of the CLI, and a simulated day.
 */
import assert from 'node:assert/strict'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import pg from 'pg'
import { simulateActivity } from '../../src/datasets/totesys/simulator.js'
import { runCli } from './cli-process.js'
import type { MotoServer } from './moto-server.js'
import type { Pipeline } from './pipeline-fixture.js'

let secretCounter = 0

/**
 * Puts the pipeline's source URL in a `{"url"}` secret and its warehouse in
 * an RDS-shaped secret, and returns the environment a deployed function gets.
 */
export async function lambdaEnv(moto: MotoServer, pipeline: Pipeline, scratchDir: string): Promise<Record<string, string>> {
  // An S3 lake lives on the fixture's moto_server: the secrets go there too, so one endpoint serves the function.
  const aws = { ...moto.env, ...pipeline.lakeEnv }
  const client = new SecretsManagerClient({ endpoint: aws.AWS_ENDPOINT_URL, region: aws.AWS_REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const n = ++secretCounter
  try {
    const source = await client.send(new CreateSecretCommand({ Name: `starline/source-${process.pid}-${n}`, SecretString: JSON.stringify({ url: pipeline.sourceUrl }) }))
    const w = new URL(pipeline.warehouseUrl)
    const rds = {
      engine: 'postgres',
      host: w.hostname,
      port: Number(w.port),
      username: decodeURIComponent(w.username),
      password: decodeURIComponent(w.password) || 'unused',
      dbname: w.pathname.slice(1),
    }
    const warehouse = await client.send(new CreateSecretCommand({ Name: `starline/warehouse-${process.pid}-${n}`, SecretString: JSON.stringify(rds) }))
    return {
      ...aws,
      STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
      STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      STARLINE_SOURCE_SECRET_ID: source.Name!,
      STARLINE_WAREHOUSE_SECRET_ID: warehouse.ARN!,
      STARLINE_EXTRACT_LAG: '0ms',
      STARLINE_SCRATCH_DIR: scratchDir,
      STARLINE_LOG_LEVEL: 'warn',
    }
  } finally {
    client.destroy()
  }
}

/** The same data through the CLI: `starline run` in a child process. */
export async function cliRun(pipeline: Pipeline, env: Readonly<Record<string, string>> = {}): Promise<void> {
  const result = await runCli(['run'], {
    STARLINE_SOURCE_URL: pipeline.sourceUrl,
    STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
    STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
    STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
    STARLINE_EXTRACT_LAG: '0ms',
    ...pipeline.lakeEnv,
    ...env,
  })
  assert.equal(result.code, 0, result.stderr)
}

/** One simulated trading day in the pipeline's source (fixed seed: the same day in every clone). */
export async function simulateDay(pipeline: Pipeline): Promise<void> {
  const client = new pg.Client({ connectionString: pipeline.sourceUrl })
  await client.connect()
  try {
    await simulateActivity(client, { days: 1, seed: 3, silentEditChance: 0 })
  } finally {
    await client.end()
  }
}
