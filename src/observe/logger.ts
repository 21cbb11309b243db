/**
 * Structured logging on stderr, so stdout stays free for summaries and JSON
 * answers. Two formats: one JSON object per line (the default off a
 * terminal, so CloudWatch and `jq` read it alike) and a short human line
 * (`12:00:01.123 WARN  message key=value`) for a person at a terminal.
 */
import { LOG_LEVELS, type LogLevel } from '../core/log-level.js'

export const LOG_FORMATS = ['json', 'text'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  readonly level?: LogLevel
  /** `json` lines, or `text` for a terminal. Default `json`. */
  readonly format?: LogFormat
  /** Where lines go. Default: process.stderr. */
  readonly write?: (line: string) => void
  readonly fields?: LogFields
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info')
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  const base = options.fields ?? {}
  const format = options.format === 'text' ? textLine : jsonLine
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return
    write(format(new Date(), level, message, { ...base, ...fields }))
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  }
}

/** The format for a stream: text on a terminal, JSON lines anywhere else (files, pipes, CI). */
export function logFormatFor(stream: { readonly isTTY?: boolean }): LogFormat {
  return stream.isTTY ? 'text' : 'json'
}

/** A logger that drops everything, for tests and library callers. */
export const silentLogger: Logger = createLogger({ level: 'silent' })

function jsonLine(time: Date, level: LogLevel, message: string, fields: LogFields): string {
  return `${JSON.stringify({ time: time.toISOString(), level, message, ...fields }, errorReplacer)}\n`
}

function textLine(time: Date, level: LogLevel, message: string, fields: LogFields): string {
  const pairs = Object.entries(fields).map(([key, value]) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value, errorReplacer)
    return `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? JSON.stringify(text) : text}`
  })
  return `${time.toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${[message, ...pairs].join(' ')}\n`
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message }
  }
  if (typeof value === 'bigint') return value.toString()
  return value
}
