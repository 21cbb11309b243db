/**
 * Parsers for setting values: each takes the raw text and where it came from
 * (`STARLINE_EXTRACT_LAG`, `"extract.lag" in starline.json`) and returns the
 * typed value or throws a ConfigError naming that place.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { LOG_LEVELS, type LogLevel } from '../core/log-level.js'
import { absoluteDuckDbUrl, DuckDbUrlError, isDuckDbUrl } from '../engines/duckdb/duckdb-url.js'
import { LakeError } from '../lake/errors.js'
import { parseS3Url } from '../lake/s3/s3-config.js'
import { ConfigError } from './errors.js'

export function parsePostgresUrl(value: string, from: string): string {
  const url = parseUrl(value, from, 'postgres://user:password@host:5432/database')
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${from} must be a postgres:// URL, not ${url.protocol}//. Expected postgres://user:password@host:5432/database.`)
  }
  if (!url.hostname || url.pathname.length <= 1) {
    throw new ConfigError(`${from} must name a host and a database, as in postgres://user:password@host:5432/database.`)
  }
  return value
}

/**
 * A warehouse URL: PostgreSQL, a DuckDB file (`duckdb:` and its path, made
 * absolute by loadConfig), Redshift over the wire, or the Redshift Data API
 * (the engine checks the rest).
 */
export function parseWarehouseUrl(value: string, from: string): string {
  if (isDuckDbUrl(value)) {
    try {
      absoluteDuckDbUrl(value)
    } catch (error) {
      if (error instanceof DuckDbUrlError) throw new ConfigError(`${from}: ${error.message}`)
      throw error
    }
    return value
  }
  const url = parseUrl(value, from, 'postgres://user@host:5432/database')
  if (url.protocol === 'redshift-data:') return value
  if (url.protocol === 'redshift:') {
    if (!url.hostname || url.pathname.length <= 1) {
      throw new ConfigError(`${from} must name a host and a database, as in redshift://user@host:5439/database.`)
    }
    return value
  }
  return parsePostgresUrl(value, from)
}

/** An IAM role ARN (several may be chained with commas, as Redshift's COPY allows). */
export function parseIamRoleArn(value: string, from: string): string {
  for (const part of value.split(',')) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(part)) {
      throw new ConfigError(`${from} must be an IAM role ARN such as arn:aws:iam::123456789012:role/starline-copy; got ${JSON.stringify(part)}.`)
    }
  }
  return value
}

export function parseLakeUrl(value: string, from: string, cwd: string): string {
  // `file:relative/path` would otherwise parse as /relative/path, at the filesystem root.
  if (/^file:(?!\/)/i.test(value)) return pathToFileURL(resolve(cwd, value.slice('file:'.length))).href
  const url = parseUrl(value, from, 'file:///absolute/path or s3://bucket/prefix')
  if (url.protocol === 'file:') {
    if (url.host !== '' && url.host !== 'localhost') {
      throw new ConfigError(`${from} must be a local path, as in file:///absolute/path (three slashes).`)
    }
    return value
  }
  if (url.protocol === 's3:') {
    try {
      parseS3Url(value, from)
    } catch (error) {
      if (error instanceof LakeError) throw new ConfigError(error.message)
      throw error
    }
    return value
  }
  throw new ConfigError(`${from} uses the scheme ${url.protocol}//, which starline does not support. Use file:///absolute/path or s3://bucket/prefix.`)
}

export function parseSchemaName(value: string, from: string): string {
  if (value.length === 0 || value.length > 63 || value.includes('\0')) {
    throw new ConfigError(`${from} must be a schema name of 1 to 63 characters.`)
  }
  return value
}

export function parseDuration(value: string, from: string): number {
  const match = /^(\d{1,9}(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim())
  if (!match) throw new ConfigError(`${from} must be a duration such as 500ms, 10s, 5m or 1h; got ${JSON.stringify(value)}.`)
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(match[1]) * factor)
}

/** A duration, or `off` (null). */
export function parseOptionalDuration(value: string, from: string): number | null {
  return value.trim() === 'off' ? null : parseDuration(value, from)
}

export function parseLeaseTtl(value: string, from: string): number {
  const ms = parseDuration(value, from)
  if (ms < 1000 || ms > 24 * 3_600_000) throw new ConfigError(`${from} must be between 1s and 24h; got ${JSON.stringify(value)}.`)
  return ms
}

export function parseMemorySize(value: string, from: string): string {
  const match = /^(\d{1,6})\s*(MB|GB)$/i.exec(value.trim())
  if (!match) throw new ConfigError(`${from} must be a size such as 512MB or 2GB; got ${JSON.stringify(value)}.`)
  return `${match[1]}${match[2]!.toUpperCase()}`
}

export function parseAbsolutePath(value: string, from: string): string {
  if (!value.startsWith('/')) throw new ConfigError(`${from} must be an absolute path.`)
  return value
}

export function parseLogLevel(value: string, from: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(`${from} must be one of ${LOG_LEVELS.join(', ')}.`)
  }
  return value as LogLevel
}

export function parseRetries(value: string, from: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new ConfigError(`${from} must be a whole number from 0 to 10; got ${JSON.stringify(value)}.`)
  return n
}

function parseUrl(value: string, from: string, example: string): URL {
  try {
    return new URL(value)
  } catch {
    throw new ConfigError(`${from} is not a valid URL. Expected ${example}.`)
  }
}

/** An IANA time zone name (`Europe/London`, `UTC`). */
export function parseTimeZone(value: string, from: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value })
  } catch {
    throw new ConfigError(`${from} must be an IANA time zone such as UTC or Europe/London; got ${JSON.stringify(value)}.`)
  }
  return value
}

/** `stderr`, an http(s) webhook URL, or an SNS topic ARN. */
export function parseAlertSink(value: string, from: string): string {
  if (value === 'stderr' || /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(value)) return value
  try {
    const url = new URL(value)
    if (url.protocol === 'https:' || url.protocol === 'http:') return value
  } catch {
    // falls through to the error
  }
  throw new ConfigError(`${from} must be stderr, an http(s):// webhook URL or an SNS topic ARN (arn:aws:sns:region:account:topic).`)
}

export function parsePositiveInteger(value: string, from: string): number {
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number < 1) throw new ConfigError(`${from} must be a whole number of at least 1; got ${JSON.stringify(value)}.`)
  return number
}
