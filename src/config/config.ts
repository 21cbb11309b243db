/**
 * starline's configuration: from the environment, optionally overridden by a
 * JSON file (`--config starline.json`). Every value is validated here, once,
 * against the settings table (settings.ts), and errors name the setting to
 * fix. Credentials belong in the environment (or a secret store), never in
 * the file: a file URL with a password is refused.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { LogLevel } from '../core/log-level.js'
import { absoluteDuckDbUrl, isDuckDbUrl } from '../engines/duckdb/duckdb-url.js'
import { ConfigError } from './errors.js'
import { SETTINGS, type SettingName, type SettingValue } from './settings.js'

export interface StarlineConfig {
  readonly sourceUrl?: string
  readonly sourceSchema: string
  /** The zone the source application stamps watermarks in; undefined = the database's default. */
  readonly sourceTimeZone?: string
  readonly ingestionUrl: string
  readonly processedUrl: string
  readonly warehouseUrl?: string
  readonly warehouseSchema: string
  /** The role Redshift assumes to read the lake with COPY. */
  readonly redshiftIamRole?: string
  /** Rows stamped within this long of the source's clock wait for the next run. */
  readonly extractLagMs: number
  /** How often small tables are reconciled by row hash (silent edits); undefined = never. */
  readonly reconcileIntervalMs?: number
  /** How often the large tables are checked for late rows by id range summaries; undefined = never. */
  readonly lateRowsIntervalMs?: number
  readonly leaseTtlMs: number
  /** How many times a transiently failed step is tried again. */
  readonly retries: number
  readonly scratchDir: string
  /** DuckDB's memory limit; past it, DuckDB spills to scratchDir. */
  readonly duckdbMemory: string
  /** A DuckDB warehouse's memory limit. */
  readonly warehouseDuckdbMemory: string
  readonly logLevel: LogLevel
  /** Where alerts go: a webhook URL, an SNS topic ARN, or `stderr`; unset = stderr in continuous mode, nowhere one-shot. */
  readonly alertSink?: string
  /** A warehouse table whose data lags the source by more than this is stale (an alert). */
  readonly freshnessTargetMs: number
  /** Facts held this many loads (waiting for a dimension row) raise an alert. */
  readonly heldAlertRuns: number
}

export interface LoadConfigOptions {
  readonly env?: NodeJS.ProcessEnv
  /** A JSON config file whose values override the environment. */
  readonly file?: string
  readonly cwd?: string
}

export function loadConfig(options: LoadConfigOptions = {}): StarlineConfig {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const fileValues = options.file ? readConfigFile(resolve(cwd, options.file)) : {}
  const read = <K extends SettingName>(name: K): SettingValue<K> | undefined => {
    const setting = SETTINGS[name]
    const fromFile = fileValues[setting.file]
    const fromEnv = env[setting.env]
    let found: { value: string; from: string } | undefined
    if (fromFile !== undefined) found = { value: fromFile, from: `"${setting.file}" in ${options.file}` }
    else if (fromEnv !== undefined && fromEnv !== '') found = { value: fromEnv, from: setting.env }
    else if (setting.default) found = { value: setting.default(cwd), from: setting.env }
    if (found === undefined) return undefined
    if (fromFile !== undefined && setting.credentials && hasPassword(found.value)) {
      throw new ConfigError(
        `${found.from} contains a password. Credentials do not belong in config files: set ${setting.env} or PGPASSWORD in the environment instead.`,
      )
    }
    return setting.parse(found.value, found.from, cwd) as SettingValue<K>
  }
  const sourceUrl = read('sourceUrl')
  const configuredWarehouseUrl = read('warehouseUrl')
  // A relative DuckDB file resolves against the working directory the config was read in.
  const warehouseUrl =
    configuredWarehouseUrl !== undefined && isDuckDbUrl(configuredWarehouseUrl) ? absoluteDuckDbUrl(configuredWarehouseUrl, cwd) : configuredWarehouseUrl
  const sourceTimeZone = read('sourceTimeZone')
  const redshiftIamRole = read('redshiftIamRole')
  const reconcileIntervalMs = read('reconcileIntervalMs')
  const lateRowsIntervalMs = read('lateRowsIntervalMs')
  const alertSink = read('alertSink')
  return {
    sourceSchema: read('sourceSchema')!,
    ingestionUrl: read('ingestionUrl')!,
    processedUrl: read('processedUrl')!,
    warehouseSchema: read('warehouseSchema')!,
    extractLagMs: read('extractLagMs')!,
    leaseTtlMs: read('leaseTtlMs')!,
    retries: read('retries')!,
    scratchDir: read('scratchDir')!,
    duckdbMemory: read('duckdbMemory')!,
    warehouseDuckdbMemory: read('warehouseDuckdbMemory')!,
    logLevel: read('logLevel')!,
    freshnessTargetMs: read('freshnessTargetMs')!,
    heldAlertRuns: read('heldAlertRuns')!,
    ...(alertSink === undefined ? {} : { alertSink }),
    ...(reconcileIntervalMs === undefined || reconcileIntervalMs === null ? {} : { reconcileIntervalMs }),
    ...(lateRowsIntervalMs === undefined || lateRowsIntervalMs === null ? {} : { lateRowsIntervalMs }),
    ...(sourceUrl === undefined ? {} : { sourceUrl }),
    ...(sourceTimeZone === undefined ? {} : { sourceTimeZone }),
    ...(warehouseUrl === undefined ? {} : { warehouseUrl }),
    ...(redshiftIamRole === undefined ? {} : { redshiftIamRole }),
  }
}

/** A setting a command cannot run without. */
export function requireSetting<K extends 'sourceUrl' | 'warehouseUrl'>(config: StarlineConfig, name: K): string {
  const value = config[name]
  if (value === undefined) {
    throw new ConfigError(`${SETTINGS[name].env} is not set. Set it to a PostgreSQL URL, e.g. postgres://user@host:5432/database (password in the URL or PGPASSWORD).`)
  }
  return value
}

function readConfigFile(path: string): Record<string, string> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`Cannot read the config file ${path}: ${(error as Error).message}. It must be a JSON object.`, { cause: error })
  }
  const flat: Record<string, string> = {}
  const known = new Set<string>(Object.values(SETTINGS).map((s) => s.file))
  const walk = (value: unknown, prefix: string): void => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, prefix ? `${prefix}.${key}` : key)
      return
    }
    if (!known.has(prefix)) {
      throw new ConfigError(`Unknown setting "${prefix}" in ${path}. Known settings: ${[...known].join(', ')}.`)
    }
    flat[prefix] = String(value)
  }
  walk(parsed, '')
  return flat
}

/** A password in the URL's user info, or as a `password` query parameter (which pg also honours). */
function hasPassword(value: string): boolean {
  try {
    const url = new URL(value)
    return url.password !== '' || url.searchParams.has('password')
  } catch {
    return false
  }
}
