/**
 * Where the crash matrix kills `starline run`. A clean run's JSON debug log
 * lists the boundaries of each stage (lease taken, snapshot opened, each
 * object put, manifest written, load transaction begun, each table loaded
 * inside it, committed...): every one of them is a kill point, killed the
 * moment the child logs it. The rest of the budget is a seeded random
 * schedule: after a random event, a random delay shorter than the gap to
 * the next event in the clean run, so kills land between boundaries too
 * (inside a COPY, a DuckDB model, a manifest write, a connection's close).
 */
import type { LogEvent } from './cli-child.js'

export const SCENARIOS = ['first', 'incremental'] as const
/** `first`: an empty lake and warehouse; `incremental`: after one clean run and a simulated day. */
export type Scenario = (typeof SCENARIOS)[number]

export interface KillPoint {
  readonly id: string
  readonly scenario: Scenario
  readonly kind: 'boundary' | 'random'
  /** The stage the clean run was in at the event. */
  readonly stage: 'extract' | 'transform' | 'load'
  /** The event's label (message and table or stage), and which occurrence of it (0-based). */
  readonly label: string
  readonly occurrence: number
  /** How long after the event the kill is sent. */
  readonly delayMs: number
  /** After the rerun converges: a simulated day, one more run, and a comparison with the clean pipeline's second run. */
  readonly dayAfter: boolean
}

/** A small seeded generator (mulberry32): the same seed gives the same schedule. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function eventLabel(event: LogEvent): string {
  const where = event.table ?? event.stage
  return where === undefined ? event.message : `${event.message} (${where})`
}

interface Boundary {
  readonly label: string
  readonly occurrence: number
  readonly stage: KillPoint['stage']
  /** Time to the next event of the clean run (ms). */
  readonly gapMs: number
}

/** The boundaries of a clean run's log, each with its stage and the gap to the next one. */
export function boundaries(events: readonly LogEvent[]): Boundary[] {
  const seen = new Map<string, number>()
  let stage: KillPoint['stage'] = 'extract'
  return events.map((event, index) => {
    if (event.stage === 'extract' || event.stage === 'transform') stage = event.stage
    if (event.message === 'ledger read') stage = 'load'
    const label = eventLabel(event)
    const occurrence = seen.get(label) ?? 0
    seen.set(label, occurrence + 1)
    const next = events[index + 1]
    return { label, occurrence, stage, gapMs: next ? Math.max(1, next.atMs - event.atMs) : 100 }
  })
}

export interface PlanOptions {
  /** Kill points in all (at least every boundary of both clean runs). */
  readonly total: number
  readonly seed: number
  /** Every n-th kill in a first run also gets a simulated day and one more run afterwards. */
  readonly dayAfterEvery: number
}

/** Every boundary of both clean runs, then seeded random points up to `total`. */
export function killPlan(cleanLogs: Readonly<Record<Scenario, readonly LogEvent[]>>, options: PlanOptions): KillPoint[] {
  const random = seededRandom(options.seed)
  const points: Omit<KillPoint, 'id' | 'dayAfter'>[] = []
  const all = SCENARIOS.map((scenario) => ({ scenario, marks: boundaries(cleanLogs[scenario]) }))
  for (const { scenario, marks } of all) {
    for (const mark of marks) points.push({ scenario, kind: 'boundary', stage: mark.stage, label: mark.label, occurrence: mark.occurrence, delayMs: 0 })
  }
  while (points.length < options.total) {
    const { scenario, marks } = all[Math.floor(random() * all.length)]!
    const mark = marks[Math.floor(random() * marks.length)]!
    const delayMs = 1 + Math.floor(random() * mark.gapMs)
    points.push({ scenario, kind: 'random', stage: mark.stage, label: mark.label, occurrence: mark.occurrence, delayMs })
  }
  let firsts = 0
  return points.map((point, index) => {
    const dayAfter = point.scenario === 'first' && firsts++ % options.dayAfterEvery === options.dayAfterEvery - 1
    const at = `${point.label}${point.occurrence > 0 ? ` #${point.occurrence + 1}` : ''}`
    const id = `${point.scenario}-${String(index + 1).padStart(3, '0')} ${at} +${point.delayMs}ms`
    return { ...point, id, dayAfter }
  })
}
