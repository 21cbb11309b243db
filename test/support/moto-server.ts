/**
 * A real S3-compatible server for tests: `moto_server` on 127.0.0.1 (S3,
 * Secrets Manager, SNS, Redshift Data API...). It is installed on the
 * development machines; where it is absent, tests skip with `MOTO_MISSING`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { findFreePort } from '../../src/runtime/embedded-postgres-server.js'

export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string
  /** Environment for SDK clients (and child processes) pointed at this server. */
  readonly env: Readonly<Record<string, string>>
  stop(): Promise<void>
}

/** Undefined when moto_server can run here; otherwise why not (for `it(..., { skip })`). */
export const MOTO_MISSING: string | undefined =
  spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0
    ? undefined
    : 'moto_server is not installed on this machine (pip install "moto[server]"), so the S3 and AWS tests are skipped'

export async function startMoto(): Promise<MotoServer> {
  const port = await findFreePort()
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`)
      if (response.status < 500) break
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode} while starting`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('moto_server did not start within 20 s')
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'eu-west-2',
  }
  return {
    endpoint,
    env,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** Applies `env` to process.env for the SDK clients made in this process; returns an undo. */
export function useEnv(env: Readonly<Record<string, string>>): () => void {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
