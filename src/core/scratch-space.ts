/**
 * Scratch directories that a killed run cannot leave behind for good.
 *
 * Each run works in a directory of its own under the scratch root
 * (STARLINE_SCRATCH_DIR): downloaded objects, Parquet outputs, DuckDB's
 * spill files. A clean exit removes it; a SIGKILL, an out-of-memory kill or
 * a Lambda timeout cannot. So every such directory names its owner in a
 * small file (host and process id), and a stage starting on the same root
 * removes those whose owner process is gone. A directory without that file
 * (being created, or not ours) and one owned on another host (its owner
 * cannot be checked from here) are never touched, so a live run never loses
 * its files.
 */
import { readdir, readFile, rm, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** The file in a scratch directory that names its owner. */
export const OWNER_FILE = '.starline-owner.json'

interface Owner {
  readonly host: string
  readonly pid: number
}

/** Directories this process made: a later process may reuse a dead one's pid (in a container, often ours). */
const made = new Set<string>()

/** A new directory under `root` for one run's scratch files, marked as this process's. */
export async function makeScratchDir(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true })
  const dir = await mkdtemp(join(root, `${prefix}-`))
  made.add(dir)
  const owner: Owner = { host: hostname(), pid: process.pid }
  await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`)
  return dir
}

/** Removes a directory made by makeScratchDir, with everything in it. */
export async function removeScratchDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  made.delete(dir)
}

/**
 * Removes the scratch directories under `root` whose owner process has
 * ended (a killed run's leftovers); returns their paths. Never fails the
 * caller: a directory that cannot be read or removed is left for next time.
 */
export async function removeDeadScratchDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => [])
  const removed: string[] = []
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const dir = join(root, entry.name)
    const owner = await readOwner(dir)
    if (owner === undefined || !isDead(owner, dir)) continue
    try {
      await rm(dir, { recursive: true, force: true })
      removed.push(dir)
    } catch {
      // Another cleaner got there first, or a file is held open: next stage tries again.
    }
  }
  return removed
}

async function readOwner(dir: string): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as Partial<Owner>
    return typeof parsed.host === 'string' && Number.isInteger(parsed.pid) ? { host: parsed.host, pid: parsed.pid! } : undefined
  } catch {
    return undefined
  }
}

function isDead(owner: Owner, dir: string): boolean {
  if (owner.host !== hostname()) return false
  if (owner.pid === process.pid) return !made.has(dir)
  try {
    process.kill(owner.pid, 0)
    return false
  } catch (error) {
    // EPERM: the process exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
