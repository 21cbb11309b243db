/**
 * `starline` as a child process for the crash suites: the built CLI
 * (bin/starline.js, about half the start-up time of running the sources
 * through tsx), its JSON debug log read line by line as it is written, so a
 * test can act (SIGKILL the child, kill a database) the moment the child
 * reports an event.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ENTRY = 'bin/starline.js'
const BUILT = fileURLToPath(new URL('../../dist/runtime/cli/starline.js', import.meta.url))

/** One line of the child's JSON log. */
export interface LogEvent {
  readonly message: string
  readonly level: string
  readonly stage?: string
  readonly table?: string
  /** Milliseconds since the child was started. */
  readonly atMs: number
}

export interface ChildResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly events: readonly LogEvent[]
}

export interface CliChild {
  readonly child: ChildProcess
  readonly done: Promise<ChildResult>
  /** Resolves with the event when `match` accepts one (counting from the start), or undefined if the child exits first. */
  when(match: (event: LogEvent, index: number) => boolean): Promise<LogEvent | undefined>
}

/** Fails early with advice when the CLI was not built (the suite runs the built CLI). */
export function assertBuilt(): void {
  if (!existsSync(BUILT)) throw new Error(`The crash suites run the built CLI, and ${BUILT} is missing: run npm run build first.`)
}

/** Starts `starline ...args` with exactly `env` (plus PATH and HOME). */
export function startStarline(args: readonly string[], env: Readonly<Record<string, string>>): CliChild {
  const started = Date.now()
  const child = spawn(process.execPath, [ENTRY, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let pending = ''
  const events: LogEvent[] = []
  const watchers = new Set<() => void>()
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString()
    stderr += text
    pending += text
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      const event = parseEvent(line, Date.now() - started)
      if (event) events.push(event)
    }
    for (const check of watchers) check()
  })
  const done = new Promise<ChildResult>((resolve) => {
    child.on('close', (code, signal) => {
      for (const check of watchers) check()
      resolve({ code, signal, stdout, stderr, events })
    })
  })
  let exited = false
  void done.then(() => (exited = true))
  return {
    child,
    done,
    when(match) {
      return new Promise((resolve) => {
        let seen = 0
        const check = (): void => {
          for (; seen < events.length; seen++) {
            if (match(events[seen]!, seen)) {
              watchers.delete(check)
              resolve(events[seen])
              return
            }
          }
          if (exited || child.exitCode !== null || child.signalCode !== null) {
            watchers.delete(check)
            resolve(undefined)
          }
        }
        watchers.add(check)
        check()
        void done.then(check)
      })
    },
  }
}

/** Runs `starline ...args` to the end. */
export function runStarline(args: readonly string[], env: Readonly<Record<string, string>>): Promise<ChildResult> {
  return startStarline(args, env).done
}

function parseEvent(line: string, atMs: number): LogEvent | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>
    if (typeof parsed.message !== 'string') return undefined
    return {
      message: parsed.message,
      level: String(parsed.level),
      ...(typeof parsed.stage === 'string' ? { stage: parsed.stage } : {}),
      ...(typeof parsed.table === 'string' ? { table: parsed.table } : {}),
      atMs,
    }
  } catch {
    return undefined
  }
}
