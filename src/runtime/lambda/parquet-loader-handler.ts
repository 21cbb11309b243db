/**
 * The Parquet loader as a Lambda function (`parquet_loader_function.zip`).
 *
 * Configured from its environment:
 * - the spec: `STARLINE_LOADER_SPEC` (inline JSON; relative prefixes resolve
 *   against the working directory) or `STARLINE_LOADER_SPEC_FILE` (a spec file
 *   bundled in the zip; default `spec.json` beside the handler's working directory);
 * - the warehouse: `STARLINE_WAREHOUSE_URL`, or `STARLINE_WAREHOUSE_SECRET_ID`
 *   naming a Secrets Manager secret holding `{"url": ...}` or the RDS/Redshift
 *   credentials shape, read as the other functions read theirs
 *   (config/secrets.ts: Redshift's default port 5439); `STARLINE_REDSHIFT_IAM_ROLE`
 *   for Redshift's COPY.
 *
 * Each successful invocation writes the EMF metrics the other functions
 * write (RowsMoved, RunDuration; Function=parquet_loader).
 *
 * A scheduled or manual event loads every table of the spec. An S3
 * ObjectCreated event (or its EventBridge form) loads only the tables whose
 * prefix holds the object, when the object says the data is complete: the
 * table's `marker` (e.g. `_SUCCESS`) where the spec names one, otherwise a
 * `_SUCCESS` marker or any data file. A repeated event finds the file set
 * unchanged in the ledger and loads nothing twice.
 *
 * Answers `{statusCode, body}` like `starline load-parquet --json`; for an
 * S3 or EventBridge event (invoked asynchronously) a retryable (503) or
 * unexpected (500) failure is thrown instead, after logging, so Lambda
 * retries the event rather than dropping it.
 */
import { posix } from 'node:path'
import { ConfigError } from '../../config/errors.js'
import { secretsManagerStore, urlFromSecret, type SecretStore } from '../../config/secrets.js'
import { LOG_LEVELS } from '../../core/log-level.js'
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { openObjectStore } from '../../lake/open-object-store.js'
import type { ObjectStore } from '../../lake/object-store.js'
import { parseLoaderSpec, readLoaderSpec, type LoaderSpec } from '../../loader/loader-spec.js'
import { isMarkerKey } from '../../loader/parquet-files.js'
import { createLogger } from '../../observe/logger.js'
import { writeMetrics } from '../../observe/metrics.js'
import { loaderAnswer, loadParquet, type LoadParquetSummary, type LoaderAnswer } from '../../pipeline/load-parquet.js'
import type { TableLoads } from '../../warehouse/table-loads.js'
import { openTableLoads } from '../open-table-loads.js'

export interface ParquetLoaderDependencies {
  readonly env?: NodeJS.ProcessEnv
  /** Opens the store at a table prefix; default `openObjectStore`. */
  readonly openStore?: (url: string) => ObjectStore
  /** Where secrets come from; default Secrets Manager. */
  readonly secrets?: SecretStore
}

interface Runtime {
  readonly spec: LoaderSpec
  readonly tableLoads: TableLoads
}

/** A handler with its own warm state (module scope for Lambda, one per test). */
export function createParquetLoaderHandler(deps: ParquetLoaderDependencies = {}): (event: unknown) => Promise<LoaderAnswer> {
  const env = deps.env ?? process.env
  const openStore = deps.openStore ?? openObjectStore
  const level = LOG_LEVELS.find((l) => l === env.STARLINE_LOG_LEVEL) ?? 'info'
  const logger = createLogger({ level, fields: { function: 'parquet-loader' } })
  let runtime: Promise<Runtime> | undefined
  return async (event) => {
    const started = Date.now()
    let failure: unknown
    const answer = await loaderAnswer(async () => {
      try {
        const summary = await load()
        // The same EMF metrics as the other functions (Function=parquet_loader): rows moved and run time.
        writeMetrics({
          function: 'parquet_loader',
          values: { RowsMoved: summary.tables.reduce((sum, t) => sum + t.rows, 0), RunDuration: Date.now() - started },
          properties: { schema: summary.schema, tables: summary.tables.filter((t) => !t.skipped).map((t) => t.name) },
        })
        return summary
      } catch (error) {
        failure = error
        throw error
      }
    })
    if (answer.statusCode !== 200) {
      logger.error('parquet load failed', { statusCode: answer.statusCode, body: answer.body })
      // A failed invocation starts the next one clean: a rotated password is read again.
      const stale = runtime
      runtime = undefined
      await (await stale?.catch(() => undefined))?.tableLoads.close().catch(() => undefined)
      // Lambda retries an asynchronous event (S3, EventBridge) only when the invocation throws;
      // a returned 503 would drop the load. A 400 is terminal: retrying changes nothing.
      if (answer.statusCode !== 400 && isAsynchronousEvent(event)) throw asStarlineError(failure)
    }
    return answer

    async function load(): Promise<LoadParquetSummary> {
      runtime ??= buildRuntime(env, openStore, deps.secrets)
      const { spec, tableLoads } = await runtime.catch((error: unknown) => {
        runtime = undefined
        throw error
      })
      const tables = tablesForEvent(spec, event)
      if (tables !== undefined && tables.length === 0) {
        logger.info('event names no table of the spec to load', { event: describeEvent(event) })
        return { schema: spec.schema, tables: [] }
      }
      return loadParquet({
        spec,
        tableLoads,
        openStore,
        logger,
        ...(tables ? { tables } : {}),
        ...(env.STARLINE_SCRATCH_DIR ? { scratchDir: env.STARLINE_SCRATCH_DIR } : {}),
      })
    }
  }
}

/** An S3 notification or an EventBridge event (a rule or schedule): Lambda invokes these asynchronously. */
export function isAsynchronousEvent(event: unknown): boolean {
  const e = event as { Records?: unknown; 'detail-type'?: unknown; source?: unknown } | null
  if (e && Array.isArray(e.Records)) return e.Records.some((r: { eventSource?: unknown }) => r?.eventSource === 'aws:s3')
  return typeof e?.['detail-type'] === 'string' && typeof e.source === 'string'
}

/** The failure to throw to Lambda: a StarlineError as it is, anything else wrapped (a 500: a defect). */
function asStarlineError(error: unknown): StarlineError {
  if (error instanceof StarlineError) return error
  return new StarlineError(`The Parquet load failed unexpectedly: ${messageOf(error)}`, { cause: error })
}

/** The Lambda entry point. */
export const handler = createParquetLoaderHandler()

async function buildRuntime(env: NodeJS.ProcessEnv, openStore: (url: string) => ObjectStore, secrets: SecretStore | undefined): Promise<Runtime> {
  const spec = env.STARLINE_LOADER_SPEC
    ? parseLoaderSpec(env.STARLINE_LOADER_SPEC, { baseDir: process.cwd(), source: 'STARLINE_LOADER_SPEC' })
    : await readLoaderSpec(env.STARLINE_LOADER_SPEC_FILE ?? 'spec.json')
  if (env.STARLINE_WAREHOUSE_URL && env.STARLINE_WAREHOUSE_SECRET_ID) {
    throw new ConfigError('Both STARLINE_WAREHOUSE_SECRET_ID and STARLINE_WAREHOUSE_URL are set. Set one: the secret holds the URL.')
  }
  const url = env.STARLINE_WAREHOUSE_URL || (await warehouseUrlFromSecret(env.STARLINE_WAREHOUSE_SECRET_ID, secrets))
  const tableLoads = openTableLoads(url, {
    openStore,
    ...(env.STARLINE_SCRATCH_DIR ? { scratchDir: env.STARLINE_SCRATCH_DIR } : {}),
    ...(env.STARLINE_REDSHIFT_IAM_ROLE ? { redshiftIamRole: env.STARLINE_REDSHIFT_IAM_ROLE } : {}),
  })
  return { spec, tableLoads }
}

/**
 * Which tables an event loads: undefined for all (scheduled, manual), else
 * the tables whose prefix holds an object the event reports as created.
 */
export function tablesForEvent(spec: LoaderSpec, event: unknown): string[] | undefined {
  const objects = createdObjects(event)
  if (objects === undefined) return undefined
  const names = new Set<string>()
  for (const url of objects) {
    for (const table of spec.tables) {
      if (!url.startsWith(table.prefix)) continue
      const key = url.slice(table.prefix.length)
      const file = posix.basename(key)
      const complete = table.marker ? file === table.marker && !key.includes('/') : file === '_SUCCESS' || !isMarkerKey(key)
      if (complete) names.add(table.name)
    }
  }
  return spec.tables.map((t) => t.name).filter((n) => names.has(n))
}

/** `s3://bucket/key` of each object an S3 notification or EventBridge "Object Created" event reports. */
function createdObjects(event: unknown): string[] | undefined {
  const e = event as { Records?: unknown; 'detail-type'?: unknown; detail?: { bucket?: { name?: unknown }; object?: { key?: unknown } } } | null
  if (e && Array.isArray(e.Records)) {
    return e.Records.flatMap((record: { eventSource?: string; eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string } } }) => {
      if (record.eventSource !== 'aws:s3' || !record.eventName?.startsWith('ObjectCreated')) return []
      const bucket = record.s3?.bucket?.name
      const key = record.s3?.object?.key
      // S3 notifications URL-encode keys, with '+' for a space.
      return bucket && key ? [`s3://${bucket}/${decodeURIComponent(key.replace(/\+/g, ' '))}`] : []
    })
  }
  if (e && e['detail-type'] === 'Object Created' && typeof e.detail?.bucket?.name === 'string' && typeof e.detail.object?.key === 'string') {
    return [`s3://${e.detail.bucket.name}/${e.detail.object.key}`]
  }
  return undefined
}

function describeEvent(event: unknown): string {
  const text = JSON.stringify(event) ?? String(event)
  return text.length > 300 ? `${text.slice(0, 300)}...` : text
}

/** The warehouse URL from the secret STARLINE_WAREHOUSE_SECRET_ID names, read as every function reads its secrets (config/secrets.ts). */
async function warehouseUrlFromSecret(secretId: string | undefined, secrets: SecretStore | undefined): Promise<string> {
  if (!secretId) throw new ConfigError('Set STARLINE_WAREHOUSE_URL or STARLINE_WAREHOUSE_SECRET_ID for the Parquet loader function.')
  const store = secrets ?? secretsManagerStore(new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({}))
  return urlFromSecret(await store.getSecretString(secretId), secretId)
}
