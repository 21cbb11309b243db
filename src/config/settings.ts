/**
 * Every setting starline reads, in one table: its environment variable, its
 * key in a config file, its default, what it means and how it is parsed.
 * The config loader, `starline --help` and the README's settings table all
 * come from here (`npm run docs` rewrites the README's table; a unit test
 * fails when the two disagree).
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { tmpdir } from 'node:os'
import {
  parseAbsolutePath,
  parseAlertSink,
  parseDuration,
  parseIamRoleArn,
  parseLakeUrl,
  parseLeaseTtl,
  parseLogLevel,
  parseMemorySize,
  parseOptionalDuration,
  parsePositiveInteger,
  parsePostgresUrl,
  parseWarehouseUrl,
  parseRetries,
  parseSchemaName,
  parseTimeZone,
} from './parsers.js'

export interface SettingDefinition<T> {
  /** The environment variable. */
  readonly env: string
  /** The dotted key in a JSON config file (`{"extract": {"lag": "30s"}}` is `extract.lag`). */
  readonly file: string
  /** The default's text, computed from the working directory where it depends on it; none = unset. */
  readonly default?: (cwd: string) => string
  /** How the default reads in help and docs. */
  readonly defaultText: string
  readonly description: string
  /** Holds credentials: refused in a config file when it carries a password. */
  readonly credentials?: boolean
  /** `cwd` resolves relative paths (`file:lake/ingestion`). */
  readonly parse: (value: string, from: string, cwd: string) => T
}

function setting<T>(definition: SettingDefinition<T>): SettingDefinition<T> {
  return definition
}

const lakeRoot = (cwd: string): string => pathToFileURL(resolve(cwd, '.starline', 'lake')).href

export const SETTINGS = {
  sourceUrl: setting({
    env: 'STARLINE_SOURCE_URL',
    file: 'source.url',
    defaultText: '(required to extract)',
    description: 'the OLTP source database, `postgres://user@host:5432/db` (password here or in `PGPASSWORD`)',
    credentials: true,
    parse: parsePostgresUrl,
  }),
  sourceSchema: setting({
    env: 'STARLINE_SOURCE_SCHEMA',
    file: 'source.schema',
    default: () => 'public',
    defaultText: '`public`',
    description: 'the source schema',
    parse: parseSchemaName,
  }),
  sourceTimeZone: setting({
    env: 'STARLINE_SOURCE_TIME_ZONE',
    file: 'source.timeZone',
    defaultText: "the source database's own",
    description:
      'the time zone the source application stamps `last_updated` in; the extract session is pinned to it so the window end and the open-transaction guard read the same clock',
    parse: parseTimeZone,
  }),
  ingestionUrl: setting({
    env: 'STARLINE_INGESTION_URL',
    file: 'lake.ingestion',
    default: (cwd) => `${lakeRoot(cwd)}/ingestion`,
    defaultText: '`file://$PWD/.starline/lake/ingestion`',
    description: 'the lake zone extract writes CSV to',
    parse: parseLakeUrl,
  }),
  processedUrl: setting({
    env: 'STARLINE_PROCESSED_URL',
    file: 'lake.processed',
    default: (cwd) => `${lakeRoot(cwd)}/processed`,
    defaultText: '`file://$PWD/.starline/lake/processed`',
    description: 'the lake zone transform writes Parquet to',
    parse: parseLakeUrl,
  }),
  warehouseUrl: setting({
    env: 'STARLINE_WAREHOUSE_URL',
    file: 'warehouse.url',
    defaultText: '(required to load)',
    description: 'the warehouse database',
    credentials: true,
    parse: parseWarehouseUrl,
  }),
  redshiftIamRole: setting({
    env: 'STARLINE_REDSHIFT_IAM_ROLE',
    file: 'warehouse.redshift_iam_role',
    defaultText: '(required for Redshift)',
    description: "the IAM role Redshift assumes to read the processed zone (`COPY ... IAM_ROLE`)",
    parse: parseIamRoleArn,
  }),
  warehouseSchema: setting({
    env: 'STARLINE_WAREHOUSE_SCHEMA',
    file: 'warehouse.schema',
    default: () => 'public',
    defaultText: '`public`',
    description: 'the warehouse schema, created if missing',
    parse: parseSchemaName,
  }),
  extractLagMs: setting({
    env: 'STARLINE_EXTRACT_LAG',
    file: 'extract.lag',
    default: () => '10s',
    defaultText: '`10s`',
    description: "rows stamped this close to the source's clock wait for the next run",
    parse: parseDuration,
  }),
  reconcileIntervalMs: setting({
    env: 'STARLINE_RECONCILE_INTERVAL',
    file: 'extract.reconcile',
    default: () => '1h',
    defaultText: '`1h`',
    description: 'how often the small tables are compared by row hash to catch silent edits (`0s` every run, `off` never)',
    parse: parseOptionalDuration,
  }),
  lateRowsIntervalMs: setting({
    env: 'STARLINE_LATE_ROWS_INTERVAL',
    file: 'extract.late_rows',
    default: () => '6h',
    defaultText: '`6h`',
    description:
      'how often the large tables are checked for rows that appeared behind the watermark (late commits, back-dated stamps), by comparing id range summaries (`0s` every run, `off` never; docs/late-rows.md)',
    parse: parseOptionalDuration,
  }),
  leaseTtlMs: setting({
    env: 'STARLINE_LEASE_TTL',
    file: 'lease.ttl',
    default: () => '15m',
    defaultText: '`15m`',
    description: "how long a stage's lease lasts when its holder cannot be checked (1s to 24h)",
    parse: parseLeaseTtl,
  }),
  retries: setting({
    env: 'STARLINE_RETRIES',
    file: 'retry.attempts',
    default: () => '3',
    defaultText: '`3`',
    description: 'how many times a step that failed for a transient reason (connection lost, serialization failure, throttling) is tried again, with backoff',
    parse: parseRetries,
  }),
  scratchDir: setting({
    env: 'STARLINE_SCRATCH_DIR',
    file: 'scratch.dir',
    default: () => tmpdir(),
    defaultText: 'the OS temp dir',
    description: 'DuckDB spill and temporary files',
    parse: parseAbsolutePath,
  }),
  duckdbMemory: setting({
    env: 'STARLINE_DUCKDB_MEMORY',
    file: 'duckdb.memory',
    default: () => '256MB',
    defaultText: '`256MB`',
    description: "DuckDB's memory limit in the transform and the load's file conversion; past it DuckDB spills to the scratch dir",
    parse: parseMemorySize,
  }),
  warehouseDuckdbMemory: setting({
    env: 'STARLINE_WAREHOUSE_DUCKDB_MEMORY',
    file: 'warehouse.duckdb_memory',
    // Higher than the transform's: a DuckDB warehouse keeps its key indexes in memory, counted against the limit.
    default: () => '512MB',
    defaultText: '`512MB`',
    description: "A DuckDB warehouse's memory limit (its key indexes count against it)",
    parse: parseMemorySize,
  }),
  logLevel: setting({
    env: 'STARLINE_LOG_LEVEL',
    file: 'log.level',
    default: () => 'warn',
    defaultText: '`warn`',
    description: '`debug`, `info`, `warn`, `error` or `silent`',
    parse: parseLogLevel,
  }),
  alertSink: setting({
    env: 'STARLINE_ALERT_SINK',
    file: 'alerts.sink',
    defaultText: 'stderr in continuous mode; none one-shot',
    description: 'where alerts go: an `https://` webhook (POSTed JSON), an SNS topic ARN, or `stderr`',
    parse: parseAlertSink,
  }),
  freshnessTargetMs: setting({
    env: 'STARLINE_FRESHNESS_TARGET',
    file: 'alerts.freshness',
    default: () => '30m',
    defaultText: '`30m`',
    description: 'a warehouse lagging the source by more than this raises an alert, and status shows it stale',
    parse: parseDuration,
  }),
  heldAlertRuns: setting({
    env: 'STARLINE_HELD_ALERT_RUNS',
    file: 'alerts.held_runs',
    default: () => '3',
    defaultText: '`3`',
    description: 'facts waiting this many loads for their dimension row raise an alert',
    parse: parsePositiveInteger,
  }),
} as const

export type SettingName = keyof typeof SETTINGS

/** A variable read outside the configuration file (by the Lambda functions): documented with the settings, set only in the environment. */
export interface EnvironmentOnlySetting {
  readonly env: string
  readonly defaultText: string
  readonly description: string
}

/**
 * The Lambda functions' own variables: a secret id stands in for a URL
 * setting (config/secrets.ts), and the Parquet loader function reads its spec
 * from one of two more. No config file key: a function has only its environment.
 */
export const ENVIRONMENT_ONLY_SETTINGS: readonly EnvironmentOnlySetting[] = [
  {
    env: 'STARLINE_SOURCE_SECRET_ID',
    defaultText: '(none)',
    description: 'a Secrets Manager secret (ARN or name) holding `{"url": ...}` or the RDS credentials shape, instead of `STARLINE_SOURCE_URL` (Lambda)',
  },
  {
    env: 'STARLINE_WAREHOUSE_SECRET_ID',
    defaultText: '(none)',
    description: "the same for `STARLINE_WAREHOUSE_URL` (Redshift's credentials shape defaults to port 5439); the Parquet loader function reads it too",
  },
  {
    env: 'STARLINE_LOADER_SPEC',
    defaultText: '(none)',
    description: 'the Parquet loader function: its spec as inline JSON (relative prefixes resolve against the working directory)',
  },
  {
    env: 'STARLINE_LOADER_SPEC_FILE',
    defaultText: '`spec.json`',
    description: 'the Parquet loader function: its spec as a file bundled in the zip, when `STARLINE_LOADER_SPEC` is not set',
  },
]

/** The parsed value of a setting (null where `off` is allowed). */
export type SettingValue<K extends SettingName> = ReturnType<(typeof SETTINGS)[K]['parse']>

/** `STARLINE_...  description (default ...)` lines for `starline --help`. */
export function settingsHelp(): string {
  const entries: readonly { readonly env: string; readonly defaultText: string; readonly description: string }[] = [...Object.values(SETTINGS), ...ENVIRONMENT_ONLY_SETTINGS]
  const width = Math.max(...entries.map((s) => s.env.length)) + 2
  return entries
    .map((s) => {
      const fallback = s.defaultText.replaceAll('`', '')
      return `  ${s.env.padEnd(width)}${s.description.replaceAll('`', '')} ${fallback.startsWith('(') ? fallback : `(default ${fallback})`}`
    })
    .join('\n')
}

/** The README's settings table, in Markdown. */
export function settingsMarkdown(): string {
  const rows = [
    ...Object.values(SETTINGS).map((s) => `| \`${s.env}\` | \`${s.file}\` | ${s.defaultText} | ${s.description} |`),
    ...ENVIRONMENT_ONLY_SETTINGS.map((s) => `| \`${s.env}\` | (environment only) | ${s.defaultText} | ${s.description} |`),
  ]
  return ['| variable | file key | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}
