/**
 * What the handlers share across invocations: configuration (with secrets
 * resolved), object stores and the warehouse, built lazily on the first
 * invocation at module scope and reused while the Lambda stays warm
 * (connection pools and SDK clients survive between invocations).
 *
 * A failed invocation discards it, so the retry starts clean: a rotated
 * password is read again, a broken pool is replaced.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { loadConfig, type StarlineConfig } from '../../config/config.js'
import { resolveSecretUrls, SecretCache, secretsManagerStore } from '../../config/secrets.js'
import { createLogger, type Logger } from '../../observe/logger.js'
import type { StageContext } from '../../pipeline/context.js'
import type { Warehouse } from '../../warehouse/warehouse.js'
import { openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'

export interface LambdaRuntime {
  readonly config: StarlineConfig
  /** Logs at the configured level (STARLINE_LOG_LEVEL). */
  readonly logger: Logger
  /** The stage context without a signal: each invocation adds its own deadline. */
  readonly ctx: StageContext
  /** The warehouse, opened on first use (only the loader needs one). */
  warehouse(): Promise<Warehouse>
  close(): Promise<void>
}

let cached: { readonly fingerprint: string; readonly runtime: Promise<LambdaRuntime> } | undefined

/**
 * The runtime for this environment: built once, then reused. A changed
 * environment (tests pointing the same process at another lake) builds a new
 * one; on Lambda the environment never changes within a process.
 */
export async function lambdaRuntime(env: NodeJS.ProcessEnv = process.env): Promise<LambdaRuntime> {
  const fingerprint = JSON.stringify(
    Object.entries(env)
      .filter(([key]) => key.startsWith('STARLINE_') || key === 'AWS_REGION' || key.startsWith('AWS_ENDPOINT_URL'))
      .sort(([a], [b]) => a.localeCompare(b)),
  )
  if (cached?.fingerprint === fingerprint) return cached.runtime
  await discardLambdaRuntime()
  const runtime = buildRuntime(env)
  cached = { fingerprint, runtime }
  // A failed build is not kept: the next invocation tries again.
  runtime.catch(() => {
    if (cached?.runtime === runtime) cached = undefined
  })
  return runtime
}

/** Drops the cached runtime (after a failure, or at the end of a test) and closes what it opened. */
export async function discardLambdaRuntime(): Promise<void> {
  const previous = cached
  cached = undefined
  if (previous) await (await previous.runtime.catch(() => undefined))?.close()
}

async function buildRuntime(env: NodeJS.ProcessEnv): Promise<LambdaRuntime> {
  const secrets = new SecretCache(secretsManagerStore(new SecretsManagerClient({})))
  const config = loadConfig({ env: await resolveSecretUrls(env, secrets) })
  const logger = createLogger({ level: config.logLevel })
  const ctx = stageContext(config, logger)
  let warehouse: Promise<Warehouse> | undefined
  return {
    config,
    logger,
    ctx,
    warehouse: () => (warehouse ??= openConfiguredWarehouse(config)),
    async close() {
      await (await warehouse?.catch(() => undefined))?.close()
    },
  }
}
