/**
 * Run ids are UTC timestamps with milliseconds, `20261122T093000123Z`, so
 * they sort in run order as plain strings and read as a time.
 */
import { StarlineError } from './starline-error.js'

const RUN_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/

export function newRunId(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:.]/g, '')
}

/** `YYYY-MM-DD` of a run id. */
export function runIdDate(runId: string): string {
  const match = RUN_ID.exec(runId)
  // A real instant: the id must read back as the same time (no month 13, no 31 February).
  if (!match || newRunId(new Date(runIdTime(match))) !== runId) {
    throw new StarlineError(`Invalid run id ${JSON.stringify(runId)}: expected a UTC time of the form 20261122T093000123Z.`)
  }
  return `${match[1]}-${match[2]}-${match[3]}`
}

/** The instant a run id names, in ms since the epoch. */
export function runIdInstant(runId: string): number {
  runIdDate(runId) // validates
  return runIdTime(RUN_ID.exec(runId)!)
}

function runIdTime(match: RegExpExecArray): number {
  return Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!, +match[4]!, +match[5]!, +match[6]!, +match[7]!)
}

/** A run id strictly after `previous`, even when the clock has not moved on. */
export function nextRunId(previous: string | undefined, now: Date = new Date()): string {
  const candidate = newRunId(now)
  if (previous === undefined || candidate > previous) return candidate
  const match = RUN_ID.exec(previous)
  if (!match) return candidate
  return newRunId(new Date(runIdTime(match) + 1))
}
