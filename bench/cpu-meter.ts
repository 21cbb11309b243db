/**
 * Tells a quiet machine from a busy one. Over a measured stretch, the CPU
 * time the whole machine spent (from /proc/stat) minus what the measured
 * process, the bench's own PostgreSQL server and the bench itself spent is
 * CPU somebody else used: a test suite running beside the bench competes for
 * the same cores and slows every figure down.
 *
 * The server's share is the postmaster's own time plus its reaped children's
 * (cutime/cstime: backends that have exited) plus its live children's.
 */
import { readdir, readFile } from 'node:fs/promises'

/** Linux's USER_HZ: /proc reports CPU time in these ticks on every mainstream build. */
const TICKS_PER_SECOND = 100

export interface CpuSnapshot {
  readonly at: number
  readonly machineBusyMs: number
  readonly serverMs: number
  readonly benchMs: number
}

export class CpuMeter {
  readonly #postmasterPid: number | undefined

  private constructor(postmasterPid: number | undefined) {
    this.#postmasterPid = postmasterPid
  }

  /** A meter for the PostgreSQL server listening on `port` (found by its command line). */
  static async forServerOnPort(port: number): Promise<CpuMeter> {
    return new CpuMeter(await findPostmaster(port))
  }

  get available(): boolean {
    return this.#postmasterPid !== undefined
  }

  async snapshot(): Promise<CpuSnapshot> {
    const usage = process.cpuUsage()
    return {
      at: performance.now(),
      machineBusyMs: await machineBusyMs(),
      serverMs: this.#postmasterPid === undefined ? 0 : await treeMs(this.#postmasterPid),
      benchMs: (usage.user + usage.system) / 1000,
    }
  }
}

/**
 * CPU used by others between two snapshots, as a share of one core
 * (1 = a whole core busy all along), given the measured process's own CPU.
 */
export function otherCores(before: CpuSnapshot, after: CpuSnapshot, measuredCpuMs: number): number {
  const elapsed = after.at - before.at
  if (elapsed <= 0) return 0
  const others =
    after.machineBusyMs - before.machineBusyMs - (after.serverMs - before.serverMs) - (after.benchMs - before.benchMs) - measuredCpuMs
  // Tick granularity (10 ms per core) makes short stretches noisy; never report below zero.
  return Math.max(0, others / elapsed)
}

async function machineBusyMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8').catch(() => '')).split('\n')[0] ?? ''
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait (guest time is inside user).
  const busy = fields.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + (v || 0)), 0)
  return (busy * 1000) / TICKS_PER_SECOND
}

async function treeMs(postmasterPid: number): Promise<number> {
  const own = await statTimes(postmasterPid)
  if (!own) return 0
  let ticks = own.utime + own.stime + own.cutime + own.cstime
  for (const pid of await childrenOf(postmasterPid)) {
    const child = await statTimes(pid)
    if (child) ticks += child.utime + child.stime
  }
  return (ticks * 1000) / TICKS_PER_SECOND
}

interface StatTimes {
  readonly ppid: number
  readonly utime: number
  readonly stime: number
  readonly cutime: number
  readonly cstime: number
}

async function statTimes(pid: number): Promise<StatTimes | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (!text) return undefined
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number)
  // rest[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  return { ppid: rest[1]!, utime: rest[11]!, stime: rest[12]!, cutime: rest[13]!, cstime: rest[14]! }
}

async function childrenOf(parent: number): Promise<number[]> {
  const children: number[] = []
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue
    const times = await statTimes(Number(name))
    if (times?.ppid === parent) children.push(Number(name))
  }
  return children
}

async function findPostmaster(port: number): Promise<number | undefined> {
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0')
    const p = argv.indexOf('-p')
    if (p >= 0 && argv[p + 1] === String(port) && argv.includes('-D')) return Number(name)
  }
  return undefined
}
