/**
 * Who a process is, precisely enough to say it is dead.
 *
 * A host name and a pid are not enough: containers that share a host name
 * and a volume (Docker with one `--hostname`, pods sharing a volume) each
 * have their own pid namespace, so pid 123 alive in one is another process
 * in the other; and a pid is reused once its process ends. So an owner is
 * recorded with its pid namespace (`/proc/self/ns/pid`), the boot it runs
 * in (`/proc/sys/kernel/random/boot_id`: a namespace's inode number can
 * repeat on another machine or after a reboot) and its start time
 * (`/proc/<pid>/stat` field 22, clock ticks since boot). An owner is dead
 * only when it is provably so: same host, namespace and boot, and its pid is
 * gone or now belongs to a process started at another time. Anything else
 * is `unknown`, and callers fall back to an age bound.
 */
import { readFileSync, readlinkSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'

/** A process as an owner file records it. Optional fields are absent where the system cannot tell them. */
export interface ProcessIdentity {
  readonly host: string
  readonly pid: number
  /** `pid:[4026531836]` on Linux; `<platform>:host` where the system has no pid namespaces. */
  readonly pidNamespace?: string
  readonly bootId?: string
  /** Clock ticks since boot at which the process started (Linux). */
  readonly startTicks?: string
}

export type OwnerState = 'alive' | 'dead' | 'unknown'

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim() || undefined
  } catch {
    return undefined
  }
}

function pidNamespace(): string | undefined {
  // Without /proc there may still be namespaces (a Linux container with /proc hidden): only non-Linux systems have none.
  if (process.platform !== 'linux') return `${process.platform}:host`
  return readOrUndefined(() => readlinkSync('/proc/self/ns/pid'))
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses, so count after the last ')'. */
export function startTicksOf(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined
  const stat = readOrUndefined(() => readFileSync(`/proc/${pid}/stat`, 'utf8'))
  if (stat === undefined) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so field 22 is fields[19].
  return fields[19]
}

let self: ProcessIdentity | undefined

/** This process. */
export function currentProcess(): ProcessIdentity {
  if (self === undefined || self.pid !== process.pid) {
    const namespace = pidNamespace()
    const bootId = process.platform === 'linux' ? readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')) : undefined
    const startTicks = startTicksOf(process.pid)
    self = {
      host: hostname(),
      pid: process.pid,
      ...(namespace ? { pidNamespace: namespace } : {}),
      ...(bootId ? { bootId } : {}),
      ...(startTicks ? { startTicks } : {}),
    }
  }
  return self
}

/** Whether `pid` names a process in this pid namespace (EPERM: it exists, under another user). */
export function pidExists(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether `owner` shares this process's host, pid namespace and boot, so its pid can be checked from here. */
export function samePlace(owner: Pick<ProcessIdentity, 'host' | 'pidNamespace' | 'bootId'>): boolean {
  const me = currentProcess()
  if (owner.host !== me.host || me.pidNamespace === undefined || owner.pidNamespace !== me.pidNamespace) return false
  // Linux records a boot id; a system without one (no /proc) is judged by namespace alone.
  return owner.bootId === me.bootId
}

/** Alive, provably dead, or unknown (another host, namespace or boot, or an owner recorded without them). */
export function ownerState(owner: ProcessIdentity): OwnerState {
  if (!samePlace(owner)) return 'unknown'
  if (!pidExists(owner.pid)) return 'dead'
  if (owner.startTicks === undefined) return 'alive'
  const now = startTicksOf(owner.pid)
  // The pid exists but started at another time: reused by a new process, so the owner is gone.
  return now !== undefined && now !== owner.startTicks ? 'dead' : 'alive'
}

/**
 * This process as a short name part, `<place>-<pid>-<ticks>` (place: a hash
 * of host, namespace and boot; `x` where unknown), for temporary file names
 * that must say whose they are without being read.
 */
export function ownerTag(identity: ProcessIdentity = currentProcess()): string {
  return `${placeHash(identity) ?? 'x'}-${identity.pid}-${identity.startTicks ?? 'x'}`
}

/** The state of the process a tag made by `ownerTag` names; `unknown` for a tag not made here or malformed. */
export function tagState(tag: string): OwnerState {
  const match = /^([0-9a-f]{8}|x)-(\d+)-(\d+|x)$/.exec(tag)
  if (match === null) return 'unknown'
  const [, place, pid, ticks] = match
  const mine = placeHash(currentProcess())
  if (mine === undefined || place !== mine) return 'unknown'
  if (!pidExists(Number(pid))) return 'dead'
  if (ticks === 'x') return 'alive'
  const now = startTicksOf(Number(pid))
  return now !== undefined && now !== ticks ? 'dead' : 'alive'
}

function placeHash(identity: ProcessIdentity): string | undefined {
  if (identity.pidNamespace === undefined) return undefined
  return createHash('sha256').update(`${identity.host}\0${identity.pidNamespace}\0${identity.bootId ?? ''}`).digest('hex').slice(0, 8)
}
