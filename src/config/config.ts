/**
 * starline's configuration: from the environment, optionally overridden by a
 * JSON file (`--config starline.json`). Every value is validated here, once,
 * and errors name the setting to fix. Credentials belong in the environment
 * (or a secret store), never in the file: a file URL with a password is refused.
 */
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { LOG_LEVELS, type LogLevel } from '../observe/logger.js'

import { ConfigError } from './errors.js'

export interface StarlineConfig {
  readonly sourceUrl?: string
  readonly sourceSchema: string
  readonly ingestionUrl: string
  readonly processedUrl: string
  readonly warehouseUrl?: string
  readonly warehouseSchema: string
  /** Rows stamped within this long of the source's clock wait for the next run. */
  readonly extractLagMs: number
  /** How often small tables are reconciled by row hash (silent edits); undefined = never. */
  readonly reconcileIntervalMs?: number
  readonly leaseTtlMs: number
  readonly scratchDir: string
  /** DuckDB's memory limit; past it, DuckDB spills to scratchDir. */
  readonly duckdbMemory: string
  readonly logLevel: LogLevel
}

/** Each setting: its environment variable, its key in the config file, how to read it. */
const SETTINGS = {
  sourceUrl: { env: 'STARLINE_SOURCE_URL', file: 'source.url', parse: parsePostgresUrl },
  sourceSchema: { env: 'STARLINE_SOURCE_SCHEMA', file: 'source.schema', parse: parseSchemaName },
  ingestionUrl: { env: 'STARLINE_INGESTION_URL', file: 'lake.ingestion', parse: parseLakeUrl },
  processedUrl: { env: 'STARLINE_PROCESSED_URL', file: 'lake.processed', parse: parseLakeUrl },
  warehouseUrl: { env: 'STARLINE_WAREHOUSE_URL', file: 'warehouse.url', parse: parsePostgresUrl },
  warehouseSchema: { env: 'STARLINE_WAREHOUSE_SCHEMA', file: 'warehouse.schema', parse: parseSchemaName },
  extractLagMs: { env: 'STARLINE_EXTRACT_LAG', file: 'extract.lag', parse: parseDuration },
  leaseTtlMs: { env: 'STARLINE_LEASE_TTL', file: 'lease.ttl', parse: parseLeaseTtl },
  reconcileIntervalMs: { env: 'STARLINE_RECONCILE_INTERVAL', file: 'extract.reconcile', parse: parseOptionalDuration },
  scratchDir: { env: 'STARLINE_SCRATCH_DIR', file: 'scratch.dir', parse: parseAbsolutePath },
  duckdbMemory: { env: 'STARLINE_DUCKDB_MEMORY', file: 'duckdb.memory', parse: parseMemorySize },
  logLevel: { env: 'STARLINE_LOG_LEVEL', file: 'log.level', parse: parseLogLevel },
} as const satisfies Record<keyof StarlineConfig, { env: string; file: string; parse: (v: string, name: string) => unknown }>

export type SettingName = keyof typeof SETTINGS

export function settingLabel(name: SettingName): string {
  return SETTINGS[name].env
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
  const raw = (name: SettingName): { value: string; from: string } | undefined => {
    const setting = SETTINGS[name]
    const fromFile = fileValues[setting.file]
    if (fromFile !== undefined) return { value: fromFile, from: `"${setting.file}" in ${options.file}` }
    const fromEnv = env[setting.env]
    return fromEnv === undefined || fromEnv === '' ? undefined : { value: fromEnv, from: setting.env }
  }
  const read = <K extends SettingName>(name: K, fallback?: string): ReturnType<(typeof SETTINGS)[K]['parse']> | undefined => {
    const found = raw(name) ?? (fallback === undefined ? undefined : { value: fallback, from: SETTINGS[name].env })
    if (found === undefined) return undefined
    if (found.from.includes(' in ') && (name === 'sourceUrl' || name === 'warehouseUrl') && hasPassword(found.value)) {
      throw new ConfigError(
        `${found.from} contains a password. Credentials do not belong in config files: set ${SETTINGS[name].env} or PGPASSWORD in the environment instead.`,
      )
    }
    return SETTINGS[name].parse(found.value, found.from) as ReturnType<(typeof SETTINGS)[K]['parse']>
  }
  const lakeRoot = pathToFileURL(resolve(cwd, '.starline', 'lake')).href
  const config: StarlineConfig = {
    sourceSchema: read('sourceSchema', 'public')!,
    ingestionUrl: read('ingestionUrl', `${lakeRoot}/ingestion`)!,
    processedUrl: read('processedUrl', `${lakeRoot}/processed`)!,
    warehouseSchema: read('warehouseSchema', 'public')!,
    extractLagMs: read('extractLagMs', '10s')!,
    leaseTtlMs: read('leaseTtlMs', '15m')!,
    scratchDir: read('scratchDir', tmpdir())!,
    duckdbMemory: read('duckdbMemory', '512MB')!,
    logLevel: read('logLevel', 'warn')!,
  }
  const sourceUrl = read('sourceUrl')
  const warehouseUrl = read('warehouseUrl')
  const reconcileIntervalMs = read('reconcileIntervalMs', '1h')
  return {
    ...config,
    ...(reconcileIntervalMs === undefined || reconcileIntervalMs === null ? {} : { reconcileIntervalMs }),
    ...(sourceUrl === undefined ? {} : { sourceUrl }),
    ...(warehouseUrl === undefined ? {} : { warehouseUrl }),
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

function parsePostgresUrl(value: string, from: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${from} is not a valid URL. Expected postgres://user:password@host:5432/database.`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${from} must be a postgres:// URL, not ${url.protocol}//. Expected postgres://user:password@host:5432/database.`)
  }
  if (!url.hostname || url.pathname.length <= 1) {
    throw new ConfigError(`${from} must name a host and a database, as in postgres://user:password@host:5432/database.`)
  }
  return value
}

function parseLakeUrl(value: string, from: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${from} is not a valid URL. Expected file:///absolute/path.`)
  }
  if (url.protocol === 'file:') {
    if (url.host !== '' && url.host !== 'localhost') {
      throw new ConfigError(`${from} must be a local path, as in file:///absolute/path (three slashes).`)
    }
    return value
  }
  throw new ConfigError(`${from} uses the scheme ${url.protocol}//, which this build does not support yet. Use file:///absolute/path.`)
}

function parseSchemaName(value: string, from: string): string {
  if (value.length === 0 || value.length > 63 || value.includes('\0')) {
    throw new ConfigError(`${from} must be a schema name of 1 to 63 characters.`)
  }
  return value
}

function parseDuration(value: string, from: string): number {
  const match = /^(\d{1,9}(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim())
  if (!match) throw new ConfigError(`${from} must be a duration such as 500ms, 10s, 5m or 1h; got ${JSON.stringify(value)}.`)
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(match[1]) * factor)
}

/** A duration, or `off`. */
function parseOptionalDuration(value: string, from: string): number | null {
  return value.trim() === 'off' ? null : parseDuration(value, from)
}

function parseLeaseTtl(value: string, from: string): number {
  const ms = parseDuration(value, from)
  if (ms < 1000 || ms > 24 * 3_600_000) throw new ConfigError(`${from} must be between 1s and 24h; got ${JSON.stringify(value)}.`)
  return ms
}

function parseMemorySize(value: string, from: string): string {
  const match = /^(\d{1,6})\s*(MB|GB)$/i.exec(value.trim())
  if (!match) throw new ConfigError(`${from} must be a size such as 512MB or 2GB; got ${JSON.stringify(value)}.`)
  return `${match[1]}${match[2]!.toUpperCase()}`
}

function parseAbsolutePath(value: string, from: string): string {
  if (!value.startsWith('/')) throw new ConfigError(`${from} must be an absolute path.`)
  return value
}

function parseLogLevel(value: string, from: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(`${from} must be one of ${LOG_LEVELS.join(', ')}.`)
  }
  return value as LogLevel
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
