/**
 * Runs one child process and measures it: wall time from spawn to exit and
 * the peak resident set size (RSS) of that process alone.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's
 * ru_maxrss from wait4, exact) when it is installed; otherwise from polling
 * `/proc/<pid>/status` VmHWM every 20 ms (a high-water mark, so a poll misses
 * only growth in the last interval before exit). DuckDB runs inside the
 * starline process, so its memory counts either way.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'

export interface MeasureOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** Kill the process (SIGKILL) after this long; default 10 minutes. */
  readonly timeoutMs?: number
  /** A directory for GNU time's report; required to use GNU time. */
  readonly scratchDir?: string
  /** What to call the process in errors. */
  readonly label?: string
}

export interface Measurement {
  readonly wallMs: number
  /** Peak RSS in bytes; undefined when neither method was available. */
  readonly peakRssBytes: number | undefined
  readonly rssMethod: RssMethod
  /** User + system CPU time of the process (all its threads: DuckDB's too); undefined without GNU time. */
  readonly cpuMs: number | undefined
  readonly exitCode: number | null
  readonly stdout: string
  readonly stderr: string
}

export type RssMethod = 'gnu-time' | 'proc-vmhwm' | 'none'

export class MeasuredProcessError extends Error {
  constructor(
    message: string,
    readonly measurement?: Measurement,
  ) {
    super(message)
    this.name = 'MeasuredProcessError'
  }
}

const GNU_TIME = '/usr/bin/time'
const POLL_MS = 20
const DEFAULT_TIMEOUT_MS = 10 * 60_000
/** Children still running, so an interrupted bench can end them (by pid, each one it started). */
export const liveChildren = new Set<ChildProcess>()

let gnuTime: Promise<boolean> | undefined

/** GNU time, not BSD's or the shell keyword: it must take -f and -o. */
export function hasGnuTime(): Promise<boolean> {
  gnuTime ??= (async () => {
    if (!existsSync(GNU_TIME)) return false
    const probe = await runRaw(GNU_TIME, ['-f', '%M %U %S', 'true'], {}, 5_000)
    return probe.exitCode === 0 && /^\d+ [\d.]+ [\d.]+\s*$/m.test(probe.stderr)
  })()
  return gnuTime
}

/** Runs `command args` to completion and measures it; throws on a non-zero exit or a timeout. */
export async function measure(command: string, args: readonly string[], options: MeasureOptions = {}): Promise<Measurement> {
  const label = options.label ?? [command, ...args].join(' ')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const useTime = options.scratchDir !== undefined && (await hasGnuTime())
  const report = useTime ? join(options.scratchDir!, `time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`) : ''
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', report, command, ...args]] : [command, [...args]]

  const started = performance.now()
  // Its own process group, so a kill reaches the measured process behind GNU time too.
  const child = spawn(file, argv, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  liveChildren.add(child)
  let polledKb = 0
  const poller = useTime
    ? undefined
    : setInterval(() => {
        void readVmHwmKb(child.pid).then((kb) => {
          if (kb !== undefined && kb > polledKb) polledKb = kb
        })
      }, POLL_MS)
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(child)
  }, timeoutMs)

  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    // 'close' waits for the pipes too, so the output is complete.
    child.once('close', (code) => resolve(code))
  }).finally(() => {
    clearTimeout(timer)
    if (poller) clearInterval(poller)
    liveChildren.delete(child)
  })
  const wallMs = performance.now() - started

  let peakRssBytes: number | undefined
  let cpuMs: number | undefined
  let rssMethod: RssMethod = 'none'
  if (useTime) {
    const text = await readFile(report, 'utf8').catch(() => '')
    await rm(report, { force: true })
    // GNU time writes "Command exited with non-zero status N" before the figures when the command fails.
    const [kb, user, system] = (text.trim().split('\n').at(-1) ?? '').split(' ').map(Number)
    if (kb !== undefined && Number.isFinite(kb) && kb > 0) {
      peakRssBytes = kb * 1024
      rssMethod = 'gnu-time'
    }
    if (user !== undefined && system !== undefined && Number.isFinite(user + system)) cpuMs = (user + system) * 1000
  } else if (polledKb > 0) {
    peakRssBytes = polledKb * 1024
    rssMethod = 'proc-vmhwm'
  }
  const measurement: Measurement = {
    wallMs,
    peakRssBytes,
    rssMethod,
    cpuMs,
    exitCode,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  }
  if (timedOut) throw new MeasuredProcessError(`${label} did not finish within ${Math.round(timeoutMs / 1000)} s and was killed.`, measurement)
  if (exitCode !== 0) {
    const reason = lastLines(measurement.stderr, 5) || lastLines(measurement.stdout, 5)
    throw new MeasuredProcessError(`${label} failed with exit code ${exitCode}: ${reason}`, measurement)
  }
  return measurement
}

/** Runs a command without measuring it (probes, version checks). */
export function runRaw(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let child: ChildProcess
    try {
      child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    } catch (error) {
      resolve({ exitCode: null, stdout: '', stderr: String(error) })
      return
    }
    liveChildren.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => killGroup(child), timeoutMs)
    const done = (exitCode: number | null, extra = '') => {
      clearTimeout(timer)
      liveChildren.delete(child)
      resolve({ exitCode, stdout, stderr: stderr + extra })
    }
    child.once('error', (error) => done(null, String(error)))
    child.once('close', (code) => done(code))
  })
}

/** Ends every child still running (each one this process started). */
export function killLiveChildren(): void {
  for (const child of liveChildren) killGroup(child)
  liveChildren.clear()
}

/** Kills the process group of a child started with `detached: true` (the child and whatever it started). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}

async function readVmHwmKb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)
  return match ? Number(match[1]) : undefined
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ')
}
