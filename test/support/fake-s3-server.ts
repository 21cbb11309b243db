/**
 * A tiny HTTP server that answers S3 requests the way a test needs a broken
 * server to: ignoring conditional writes, throttling, denying, dropping
 * connections. Only for failures moto cannot produce; everything else runs
 * against moto_server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { S3Client } from '@aws-sdk/client-s3'

export interface FakeRequest {
  readonly method: string
  /** Path-style: /bucket/key (decoded). */
  readonly path: string
  readonly headers: IncomingMessage['headers']
}

export interface FakeS3 {
  readonly endpoint: string
  readonly requests: FakeRequest[]
  /** A client for this server, making at most `maxAttempts` attempts per call. */
  client(maxAttempts?: number): S3Client
  close(): Promise<void>
}

export type FakeHandler = (request: FakeRequest, response: ServerResponse, index: number) => void

export async function startFakeS3(handle: FakeHandler): Promise<FakeS3> {
  const requests: FakeRequest[] = []
  const server = createServer((req, res) => {
    // Drain the body first: the SDK waits for the whole request to be read.
    req.resume()
    req.on('end', () => {
      const request = { method: req.method ?? '', path: decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname), headers: req.headers }
      requests.push(request)
      handle(request, res, requests.length - 1)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    endpoint,
    requests,
    client: (maxAttempts = 3) =>
      new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** An S3 error answer. */
export function s3Error(response: ServerResponse, status: number, code: string, message = code): void {
  response.writeHead(status, { 'content-type': 'application/xml' })
  response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>1</RequestId></Error>`)
}
