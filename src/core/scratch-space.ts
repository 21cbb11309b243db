/**
 * Scratch directories that a killed run cannot leave behind for good.
 *
 * Each run works in a directory of its own under the scratch root
 * (STARLINE_SCRATCH_DIR): downloaded objects, Parquet outputs, DuckDB's
 * spill files. A clean exit removes it; a SIGKILL, an out-of-memory kill or
 * a Lambda timeout cannot. So every such directory names its owner in a
 * small file (host, process id, pid namespace, boot and start time: see
 * process-identity.ts), and a stage starting on the same root removes those
 * whose owner is provably dead. Containers sharing a host name and a volume
 * each have their own pid namespace, so a pid is checked only from the
 * namespace that recorded it. A directory without that file (being created,
 * or not ours) is never touched; one whose owner cannot be checked from here
 * (another host or namespace, or a file from an earlier version) is removed
 * only when untouched for UNKNOWN_OWNER_MAX_AGE_MS, and the caller is told.
 */
import { readdir, readFile, rm, mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { currentProcess, ownerState, type ProcessIdentity } from './process-identity.js'

/** The file in a scratch directory that names its owner. */
export const OWNER_FILE = '.starline-owner.json'

/** A scratch directory whose owner cannot be checked is left this long (7 days) before it counts as dead. */
export const UNKNOWN_OWNER_MAX_AGE_MS = 7 * 24 * 3600_000

type Owner = ProcessIdentity

/** Directories this process made: a later process may reuse a dead one's pid (in a container, often ours). */
const made = new Set<string>()

/** A new directory under `root` for one run's scratch files, marked as this process's. */
export async function makeScratchDir(root: string, prefix: string): Promise<string> {
  await mkdir(root, { recursive: true })
  const dir = await mkdtemp(join(root, `${prefix}-`))
  made.add(dir)
  const owner: Owner = currentProcess()
  await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`)
  return dir
}

/** Removes a directory made by makeScratchDir, with everything in it. */
export async function removeScratchDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  made.delete(dir)
}

export interface DeadScratchOptions {
  /** Told of each directory removed only for its age, its owner unknown from here (for a log line). */
  readonly onUnknownOwnerRemoved?: (dir: string, owner: Owner, ageMs: number) => void
  /** Default UNKNOWN_OWNER_MAX_AGE_MS; tests shorten it. */
  readonly unknownOwnerMaxAgeMs?: number
}

/**
 * Removes the scratch directories under `root` whose owner process has
 * ended (a killed run's leftovers); returns their paths. Never fails the
 * caller: a directory that cannot be read or removed is left for next time.
 */
export async function removeDeadScratchDirs(root: string, options: DeadScratchOptions = {}): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => [])
  const maxAgeMs = options.unknownOwnerMaxAgeMs ?? UNKNOWN_OWNER_MAX_AGE_MS
  const removed: string[] = []
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const dir = join(root, entry.name)
    const owner = await readOwner(dir)
    if (owner === undefined) continue
    const state = judge(owner, dir)
    if (state === 'alive') continue
    let ageMs = 0
    if (state === 'unknown') {
      ageMs = await untouchedFor(dir)
      if (ageMs < maxAgeMs) continue
    }
    try {
      await rm(dir, { recursive: true, force: true })
      removed.push(dir)
      if (state === 'unknown') options.onUnknownOwnerRemoved?.(dir, owner, ageMs)
    } catch {
      // Another cleaner got there first, or a file is held open: next stage tries again.
    }
  }
  return removed
}

async function readOwner(dir: string): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as Partial<Owner> | null
    return parsed !== null && typeof parsed.host === 'string' && Number.isInteger(parsed.pid) ? (parsed as Owner) : undefined
  } catch {
    return undefined
  }
}

function judge(owner: Owner, dir: string): 'alive' | 'dead' | 'unknown' {
  // This process's pid, but not a directory it made: a dead run's whose pid this process reuses.
  if (owner.pid === process.pid && owner.host === currentProcess().host && !made.has(dir) && owner.startTicks === undefined) {
    return ownerState(owner) === 'unknown' ? 'unknown' : 'dead'
  }
  return ownerState(owner)
}

/** How long since anything in the directory's top level (the owner file included) was last written. */
async function untouchedFor(dir: string): Promise<number> {
  let newest = 0
  const names = await readdir(dir).catch(() => [] as string[])
  for (const path of [dir, ...names.map((name) => join(dir, name))]) {
    const info = await stat(path).catch(() => undefined)
    if (info !== undefined) newest = Math.max(newest, info.mtimeMs)
  }
  return Date.now() - newest
}
