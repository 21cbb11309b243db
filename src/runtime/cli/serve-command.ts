/**
 * `starline serve [--port N] [--host H]`: the live dashboard over the
 * warehouse, until Ctrl-C. Loopback by default; another interface is an
 * explicit choice and gets a warning, since the page has no login.
 */
import { requireSetting, type StarlineConfig } from '../../config/config.js'
import { ConfigError } from '../../config/errors.js'
import { messageOf } from '../../core/starline-error.js'
import type { ObjectStore } from '../../lake/object-store.js'
import { createLogger, type Logger } from '../../observe/logger.js'
import { redactUrl } from '../../core/redact.js'
import type { DashboardReader } from '../http/dashboard-reader.js'
import { DEFAULT_HOST, DEFAULT_PORT, isLoopbackHost, startDashboard, type DashboardServer } from '../http/dashboard-server.js'
import { DashboardQueryError } from '../http/errors.js'
import { statusFreshness, type FreshnessSource } from '../http/freshness.js'
import { openDashboardReader } from '../http/open-dashboard-reader.js'
import { stageContext } from '../pipeline-setup.js'

export interface ServeFlags {
  readonly port?: string | undefined
  readonly host?: string | undefined
}

export async function serveCommand(flags: ServeFlags, config: StarlineConfig, signal: AbortSignal): Promise<void> {
  const port = parsePort(flags.port)
  const url = requireSetting(config, 'warehouseUrl')
  const reader = openDashboardReader(url, config.warehouseSchema)
  try {
    await probe(reader, url)
    const logger = createLogger({ level: config.logLevel })
    const ctx = stageContext(config, logger)
    await serveUntilStopped(reader, {
      host: flags.host ?? DEFAULT_HOST,
      port,
      signal,
      logger,
      processed: ctx.processed,
      freshness: statusFreshness({ ...ctx, reader, freshnessTargetMs: config.freshnessTargetMs }),
    })
  } finally {
    await reader.close()
  }
}

export interface ServeOptions {
  readonly host: string
  readonly port: number
  readonly signal: AbortSignal
  readonly logger: Logger
  /** Take a free port when `port` is taken (the demo), instead of failing. */
  readonly anyFreePort?: boolean
  /** The lake's processed zone, for the quarantine panel. */
  readonly processed?: ObjectStore
  /** Each table's lag and verdict for the freshness panel (see http/freshness.ts). */
  readonly freshness?: FreshnessSource
}

/** Serves until `signal` aborts (Ctrl-C), printing the address; used by the demo too. */
export async function serveUntilStopped(reader: DashboardReader, options: ServeOptions): Promise<void> {
  const { host, signal } = options
  if (!isLoopbackHost(host)) {
    process.stderr.write(
      `starline: WARNING: serving on ${host}: anyone who can reach this interface can read the warehouse's numbers (the page has no login). Use --host 127.0.0.1 to keep it on this machine.\n`,
    )
  }
  const settings = {
    reader,
    host,
    logger: options.logger,
    ...(options.processed ? { processed: options.processed } : {}),
    ...(options.freshness ? { freshness: options.freshness } : {}),
  }
  let server: DashboardServer
  try {
    server = await startDashboard({ ...settings, port: options.port })
  } catch (error) {
    if (options.anyFreePort && (error as { code?: string }).code === 'EADDRINUSE') {
      server = await startDashboard({ ...settings, port: 0 })
    } else {
      throw listenError(error, host, options.port)
    }
  }
  try {
    process.stdout.write(`starline: dashboard at ${server.url} (Ctrl-C to stop)\n`)
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
  } finally {
    await server.close()
  }
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new ConfigError(`--port "${value}" is not a port: give a number from 0 to 65535 (0 takes any free port).`)
  }
  return port
}

/** Fails at start-up, naming the setting, rather than on the first page load. */
async function probe(reader: DashboardReader, url: string): Promise<void> {
  try {
    await reader.read('SELECT 1 AS ok')
  } catch (error) {
    throw new DashboardQueryError(
      `Cannot read the warehouse at ${redactUrl(url)} (STARLINE_WAREHOUSE_URL): ${messageOf(error)}`,
      { cause: error, retryable: error instanceof DashboardQueryError && error.retryable },
    )
  }
}

function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as { code?: string }).code
  if (code === 'EADDRINUSE') return new ConfigError(`Port ${port} on ${host} is in use. Choose another with --port (0 takes any free port).`, { cause: error })
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new ConfigError(`Cannot serve on --host ${host}: this machine has no such interface.`, { cause: error })
  }
  return error instanceof Error ? error : new Error(String(error))
}
