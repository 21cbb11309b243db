/**
 * Run ids are UTC timestamps with milliseconds, `20261122T093000123Z`, so
 * they sort in run order as plain strings and read as a time.
 */
import { StarlineError } from '../starline-error.js'

const RUN_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/

export function newRunId(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:.]/g, '')
}

/** `YYYY-MM-DD` of a run id. */
export function runIdDate(runId: string): string {
  const match = RUN_ID.exec(runId)
  if (!match) throw new StarlineError(`Invalid run id ${JSON.stringify(runId)}: expected the form 20261122T093000123Z.`)
  return `${match[1]}-${match[2]}-${match[3]}`
}

/** A run id strictly after `previous`, even when the clock has not moved on. */
export function nextRunId(previous: string | undefined, now: Date = new Date()): string {
  const candidate = newRunId(now)
  if (previous === undefined || candidate > previous) return candidate
  const match = RUN_ID.exec(previous)
  if (!match) return candidate
  const previousTime = Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!, +match[4]!, +match[5]!, +match[6]!, +match[7]!)
  return newRunId(new Date(previousTime + 1))
}
