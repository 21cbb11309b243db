/**
 * `starline serve`'s HTTP server: the page, Chart.js, and one fixed JSON
 * endpoint per chart. The browser can only name a chart (GET
 * /api/charts/<name>); the SQL behind it is a file on the server, so no SQL
 * ever comes from a request. Bound to 127.0.0.1 unless the caller chooses
 * another interface, and then anyone who reaches it can read the numbers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { messageOf } from '../../core/starline-error.js'
import type { ObjectStore } from '../../lake/object-store.js'
import type { Logger } from '../../observe/logger.js'
import { CHARTS, isChartName, loadChartQueries } from './charts.js'
import type { DashboardReader } from './dashboard-reader.js'
import { DashboardQueryError } from './errors.js'
import { withFreshness, type FreshnessSource, type TableFreshness } from './freshness.js'
import { readQuarantine } from './quarantine-report.js'
import { loadStaticFiles, type StaticFile } from './static-files.js'

export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 8765

export interface DashboardServerOptions {
  readonly reader: DashboardReader
  /** Default 127.0.0.1: any other interface is the caller's explicit choice. */
  readonly host?: string
  /** Default 8765; 0 takes a free port (see `port` on the result). */
  readonly port?: number
  /** Where query failures are reported; the page shows them too. */
  readonly logger?: Logger
  /** The lake's processed zone, for the quarantine panel (quarantined rows never reach the warehouse). */
  readonly processed?: ObjectStore
  /** Each table's pipeline lag and verdict, for the freshness panel; without it the panel says unknown. */
  readonly freshness?: FreshnessSource
}

export interface DashboardServer {
  /** The page's address, e.g. http://127.0.0.1:8765/ */
  readonly url: string
  readonly host: string
  readonly port: number
  close(): Promise<void>
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1'])

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const

const CHART_PATH = /^\/api\/charts\/([^/]+)$/
const QUARANTINE_PATH = '/api/lake/quarantine'

export async function startDashboard(options: DashboardServerOptions): Promise<DashboardServer> {
  const host = options.host ?? DEFAULT_HOST
  const queries = await loadChartQueries()
  const files = await loadStaticFiles()
  const { reader, logger } = options
  let allowedHosts: ReadonlySet<string> | undefined

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // A page elsewhere can make the browser call 127.0.0.1 under another name (DNS rebinding).
    if (allowedHosts && !allowedHosts.has(request.headers.host ?? '')) {
      return sendJson(response, 421, { error: 'This dashboard answers only to its own address (Host header rejected).' })
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD')
      return sendJson(response, 405, { error: `${request.method} is not accepted: the dashboard is read-only and takes no input.` })
    }
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid')
    const chartPath = CHART_PATH.exec(url.pathname)
    if (url.pathname === QUARANTINE_PATH) {
      if (url.search !== '') return sendJson(response, 400, { error: 'The quarantine endpoint takes no parameters.' })
      if (!options.processed) return sendJson(response, 404, { error: 'No lake is configured, so no quarantine to show (set STARLINE_PROCESSED_URL).' })
      try {
        return sendJson(response, 200, { chart: 'lake-quarantine', readAt: new Date().toISOString(), ...(await readQuarantine(options.processed)) })
      } catch (error) {
        logger?.warn('reading the quarantine failed', { error: messageOf(error) })
        return sendJson(response, 500, { error: `Quarantine: ${messageOf(error)}` })
      }
    }
    if (url.pathname === '/api/charts' || chartPath) {
      if (url.search !== '') {
        return sendJson(response, 400, { error: 'Chart endpoints take no parameters: each runs one fixed query on the server.' })
      }
      const name = chartPath?.[1]
      if (name === undefined) return sendJson(response, 200, { engine: reader.engine, charts: CHARTS, lake: options.processed !== undefined })
      const sql = isChartName(name) ? queries.get(name) : undefined
      if (sql === undefined) {
        return sendJson(response, 404, { error: `No chart named "${name}". Charts: ${CHARTS.join(', ')}.` })
      }
      try {
        let result = await reader.read(sql)
        if (name === 'health-freshness') result = withFreshness(result, await freshnessOrUnknown(options))
        return sendJson(response, 200, { chart: name, engine: reader.engine, readAt: new Date().toISOString(), ...result })
      } catch (error) {
        logger?.warn('dashboard query failed', { chart: name, error: messageOf(error) })
        const retryable = error instanceof DashboardQueryError && error.retryable
        return sendJson(response, retryable ? 503 : 500, { error: `Chart "${name}": ${messageOf(error)}` })
      }
    }
    const file = files.get(url.pathname)
    if (!file) return sendJson(response, 404, { error: `Nothing at ${url.pathname}.` })
    return sendFile(response, file)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger?.error('dashboard request failed', { error: messageOf(error) })
      if (!response.headersSent) sendJson(response, 500, { error: 'Internal error.' })
      else response.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  if (isLoopbackHost(host)) {
    allowedHosts = new Set([...LOOPBACK_HOSTS].map((name) => `${name.includes(':') ? `[${name}]` : name}:${port}`))
    if (!LOOPBACK_HOSTS.has(host)) allowedHosts = new Set([...allowedHosts, `${host}:${port}`])
  }
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}/`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        // Keep-alive connections from an open page would hold close() up forever.
        server.closeAllConnections()
      }),
  }
}

/** The freshness of every table, or undefined (shown as unknown) when there is no lake to judge it from or it cannot be read. */
async function freshnessOrUnknown(options: DashboardServerOptions): Promise<readonly TableFreshness[] | undefined> {
  try {
    return await options.freshness?.()
  } catch (error) {
    options.logger?.warn('could not compute the freshness from the lake and the ledger', { error: messageOf(error) })
    return undefined
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body))
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes.length,
    'cache-control': 'no-store',
  })
  response.end(response.req.method === 'HEAD' ? undefined : bytes)
}

function sendFile(response: ServerResponse, file: StaticFile): void {
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': file.contentType,
    'content-length': file.body.length,
    'cache-control': 'no-cache',
  })
  response.end(response.req.method === 'HEAD' ? undefined : file.body)
}
