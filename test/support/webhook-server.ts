/**
 * A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it,
 * as a webhook receiver (Slack, PagerDuty...) would get them.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface WebhookServer {
  readonly url: string
  /** Every body received, in order. */
  readonly received: Record<string, unknown>[]
  /** The status the next requests get (default 200). */
  respondWith(status: number): void
  stop(): Promise<void>
}

export async function startWebhookServer(): Promise<WebhookServer> {
  const received: Record<string, unknown>[] = []
  let status = 200
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      if (status < 300) received.push(JSON.parse(body) as Record<string, unknown>)
      response.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/starline?token=not-for-logs`,
    received,
    respondWith: (code) => (status = code),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
