/**
 * Configuration, through the CLI as an operator meets it: a bad or missing
 * setting, a bad config file, a database that cannot be reached, a lake URL
 * that points at the wrong place. Each exits with its documented status and
 * one line naming the setting; nothing is written; with the setting
 * corrected, the run converges.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CaseContext, HostileCase } from './hostile-case.js'
import { cliEnv } from './run-hostile-case.js'
import { runCli } from '../support/cli-process.js'

/** Exit statuses as docs/operations.md documents them. */
const USAGE = 2
const FAILURE = 1
const RETRY = 75

/** The operator corrects the setting: the pipeline's own configuration is the correct one. */
const corrected = async () => {}

function refused(
  id: string,
  does: string,
  args: readonly string[],
  env: (ctx: CaseContext) => Record<string, string | null>,
  status: number,
  stderr: RegExp,
): HostileCase {
  return { id: `config-${id}`, category: 'configuration', does, expect: 'refused', cli: { args, env, status, stderr }, fix: corrected }
}

const setting = (name: string, value: string | null) => () => ({ [name]: value })
const duration = (name: string, value: string) =>
  new RegExp(`^starline: ${name} must be a duration such as 500ms, 10s, 5m or 1h; got "${value}"\\.$`)

/** A config file with `content`, in a temp dir. */
function configFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'starline-config-')), 'starline.json')
  writeFileSync(path, content)
  return path
}

/** A URL whose password is wrong. */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url)
  parsed.password = password
  return parsed.toString()
}

const otherLake = () => {
  const dir = mkdtempSync(join(tmpdir(), 'starline-typo-lake-'))
  return { STARLINE_INGESTION_URL: pathToFileURL(join(dir, 'ingestion')).href, STARLINE_PROCESSED_URL: pathToFileURL(join(dir, 'processed')).href }
}

export const CONFIG_CASES: readonly HostileCase[] = [
  refused('unknown-flag', 'passes a flag extract does not take', ['extract', '--accept-everything'], () => ({}), USAGE, /^starline extract: unknown option '--accept-everything'\. See starline extract --help\.$/),
  refused('lag-not-duration', 'sets the extract lag to "abc"', ['run'], setting('STARLINE_EXTRACT_LAG', 'abc'), USAGE, duration('STARLINE_EXTRACT_LAG', 'abc')),
  refused('lease-ttl-zero', 'sets the lease TTL to 0s', ['run'], setting('STARLINE_LEASE_TTL', '0s'), USAGE, /^starline: STARLINE_LEASE_TTL must be between 1s and 24h; got "0s"\.$/),
  refused('lease-ttl-two-days', 'sets the lease TTL to 48h', ['run'], setting('STARLINE_LEASE_TTL', '48h'), USAGE, /^starline: STARLINE_LEASE_TTL must be between 1s and 24h; got "48h"\.$/),
  refused('retries-negative', 'sets retries to -1', ['run'], setting('STARLINE_RETRIES', '-1'), USAGE, /^starline: STARLINE_RETRIES must be a whole number from 0 to 10; got "-1"\.$/),
  refused('log-level-unknown', 'sets the log level to "loud"', ['run'], setting('STARLINE_LOG_LEVEL', 'loud'), USAGE, /^starline: STARLINE_LOG_LEVEL must be one of debug, info, warn, error, silent\.$/),
  refused('lake-scheme', 'points the ingestion zone at ftp://', ['run'], setting('STARLINE_INGESTION_URL', 'ftp://lake/ingestion'), USAGE, /^starline: STARLINE_INGESTION_URL uses the scheme ftp:\/\/, which starline does not support\. Use file:\/\/\/absolute\/path or s3:\/\/bucket\/prefix\.$/),
  refused('lake-two-slashes', 'writes the processed zone as file://lake/processed (two slashes: a host)', ['run'], setting('STARLINE_PROCESSED_URL', 'file://lake/processed'), USAGE, /^starline: STARLINE_PROCESSED_URL must be a local path, as in file:\/\/\/absolute\/path \(three slashes\)\.$/),
  refused('duckdb-memory', 'sets DuckDB\'s memory to "lots"', ['run'], setting('STARLINE_DUCKDB_MEMORY', 'lots'), USAGE, /^starline: STARLINE_DUCKDB_MEMORY must be a size such as 512MB or 2GB; got "lots"\.$/),
  refused('reconcile-interval', 'sets the reconcile interval to "sometimes"', ['run'], setting('STARLINE_RECONCILE_INTERVAL', 'sometimes'), USAGE, duration('STARLINE_RECONCILE_INTERVAL', 'sometimes')),
  refused('alert-sink', 'sets the alert sink to "carrier-pigeon"', ['run'], setting('STARLINE_ALERT_SINK', 'carrier-pigeon'), USAGE, /^starline: STARLINE_ALERT_SINK must be stderr, an http\(s\):\/\/ webhook URL or an SNS topic ARN/),
  refused('freshness', 'sets the freshness target to "soon"', ['run'], setting('STARLINE_FRESHNESS_TARGET', 'soon'), USAGE, duration('STARLINE_FRESHNESS_TARGET', 'soon')),
  refused('held-runs', 'sets the held-alert runs to "many"', ['run'], setting('STARLINE_HELD_ALERT_RUNS', 'many'), USAGE, /^starline: STARLINE_HELD_ALERT_RUNS must be a whole number of at least 1; got "many"\.$/),
  refused('time-zone', 'sets the source time zone to Mars/Olympus', ['run'], setting('STARLINE_SOURCE_TIME_ZONE', 'Mars/Olympus'), USAGE, /^starline: STARLINE_SOURCE_TIME_ZONE must be an IANA time zone such as UTC or Europe\/London; got "Mars\/Olympus"\.$/),
  refused('warehouse-scheme', 'points the warehouse at mysql://', ['load'], setting('STARLINE_WAREHOUSE_URL', 'mysql://dwh/warehouse'), USAGE, /^starline: STARLINE_WAREHOUSE_URL must be a postgres:\/\/ URL, not mysql:\/\//),
  refused('source-unset', 'runs without STARLINE_SOURCE_URL', ['run'], setting('STARLINE_SOURCE_URL', null), USAGE, /^starline: STARLINE_SOURCE_URL is not set\. Set it to a PostgreSQL URL/),
  refused('warehouse-unset', 'loads without STARLINE_WAREHOUSE_URL', ['load'], setting('STARLINE_WAREHOUSE_URL', null), USAGE, /^starline: STARLINE_WAREHOUSE_URL is not set\./),
  refused('source-not-url', 'sets the source URL to "not-a-url"', ['run'], setting('STARLINE_SOURCE_URL', 'not-a-url'), USAGE, /^starline: STARLINE_SOURCE_URL is not a valid URL\. Expected postgres:\/\//),
  refused('config-missing', 'names a config file that does not exist', ['run', '--config', '/nonexistent/starline.json'], () => ({}), USAGE, /^starline: Cannot read the config file \/nonexistent\/starline\.json: ENOENT/),
  refused('config-invalid-json', 'names a config file that is not JSON', ['run', '--config', configFile('{not json')], () => ({}), USAGE, /^starline: Cannot read the config file \S+: .*It must be a JSON object\.$/),
  refused('config-password', 'puts a password in the config file', ['run', '--config', configFile('{"source": {"url": "postgres://u:hunter2@db/totesys"}}')], () => ({}), USAGE, /^starline: "source\.url" in \S+ contains a password\. Credentials do not belong in config files/),
  refused('config-unknown-key', 'misspells a section of the config file', ['run', '--config', configFile('{"sauce": {"schema": "public"}}')], () => ({}), USAGE, /^starline: Unknown setting "sauce\.schema" in \S+\. Known settings: source\.url/),
  refused('source-unreachable', 'points the source at a closed port', ['run'], setting('STARLINE_SOURCE_URL', 'postgres://reader@127.0.0.1:1/totesys'), RETRY, /^starline: Cannot connect to the source database postgres:\/\/reader@127\.0\.0\.1:1\/totesys: .*Check STARLINE_SOURCE_URL\.$/),
  refused('warehouse-unreachable', 'points the warehouse at a closed port', ['load'], setting('STARLINE_WAREHOUSE_URL', 'postgres://loader@127.0.0.1:1/warehouse'), RETRY, /^starline: Cannot connect to the warehouse database postgres:\/\/loader@127\.0\.0\.1:1\/warehouse: .*Check STARLINE_WAREHOUSE_URL\.$/),
  refused('source-wrong-database', 'names a source database that does not exist', ['run'], (ctx) => ({ STARLINE_SOURCE_URL: ctx.pipeline.sourceUrl.replace(/\/[^/]+$/, '/no_such_db') }), FAILURE, /^starline: .*no_such_db.*STARLINE_SOURCE_URL/),
  refused('warehouse-wrong-database', 'names a warehouse database that does not exist', ['load'], (ctx) => ({ STARLINE_WAREHOUSE_URL: ctx.pipeline.warehouseUrl.replace(/\/[^/]+$/, '/no_such_dwh') }), FAILURE, /^starline: .*no_such_dwh.*STARLINE_WAREHOUSE_URL/),
  refused('source-schema-missing', 'names a source schema that does not exist', ['run'], setting('STARLINE_SOURCE_SCHEMA', 'no_such_schema'), FAILURE, /^starline: .*no_such_schema.*STARLINE_SOURCE_SCHEMA/),
  refused('lake-typo', 'points both zones at a new, empty lake while the warehouse was fed by another', ['run'], otherLake, FAILURE, /^starline: The warehouse has loaded run \d+T\d+Z, but file:\S+ has no such run: this is not the lake that fed the warehouse/),
  refused('zones-swapped', 'swaps the ingestion and processed URLs', ['run'], (ctx) => ({ STARLINE_INGESTION_URL: ctx.pipeline.config.processedUrl, STARLINE_PROCESSED_URL: ctx.pipeline.config.ingestionUrl }), FAILURE, /^starline: .*(swapped|two zones of one lake)/),
  {
    id: 'config-file-overrides',
    category: 'configuration',
    does: 'runs the CLI with a config file overriding the schema, lag and retries',
    expect: 'exact',
    run: async (ctx) => {
      const path = configFile('{"source": {"schema": "public"}, "extract": {"lag": "0s"}, "retry": {"attempts": 5}}')
      const result = await runCli(['run', '--config', path], cliEnv(ctx.pipeline, { STARLINE_SOURCE_SCHEMA: 'not_this_one' }))
      if (result.code !== 0) throw new Error(`starline run exited ${result.code}: ${result.stderr}`)
    },
  },
  {
    id: 'config-wrong-password-not-echoed',
    category: 'configuration',
    does: 'gives the source URL a wrong password',
    expect: 'refused',
    cli: {
      args: ['run'],
      env: (ctx) => ({ STARLINE_SOURCE_URL: withPassword(ctx.pipeline.sourceUrl, 'wrong-Pa55word') }),
      status: FAILURE,
      stderr: /^starline: (?!.*wrong-Pa55word).*STARLINE_SOURCE_URL/,
    },
    fix: corrected,
  },
]
