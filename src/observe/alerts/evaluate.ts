/**
 * What the alerts watch, turned into observations: a stage that failed (or
 * succeeded, which resolves its failure), a warehouse staler than the
 * freshness target, facts held for too many loads.
 */
import { redactUrlsIn } from '../../core/redact.js'
import { StarlineError, messageOf } from '../../core/starline-error.js'
import type { PipelineStatus } from '../status.js'
import { age } from '../status-text.js'
import type { Observation } from './incidents.js'

/** A stage this command ran: its error, or undefined when it succeeded. */
export interface StageOutcome {
  readonly stage: 'extract' | 'transform' | 'load'
  readonly error?: unknown
}

/** Failure incidents of the stages that ran; stages that did not run are not observed (their incident keeps its state). */
export function observeStages(outcomes: readonly StageOutcome[]): Observation[] {
  return outcomes.map(({ stage, error }) => ({
    incident: `failure-${stage}`,
    kind: 'failure',
    firing: error !== undefined,
    title: error === undefined ? `the ${stage} stage succeeds again` : `the ${stage} stage failed`,
    detail:
      error === undefined
        ? `The ${stage} stage ran successfully.`
        : `${error instanceof Error ? error.name : 'Error'}${error instanceof StarlineError && error.retryable ? ' (retryable)' : ''}: ${redactUrlsIn(messageOf(error)).replace(/\s*\n\s*/g, ' ').slice(0, 400)}`,
  }))
}

/** Freshness and held-row incidents from a status snapshot. */
export function observeStatus(status: PipelineStatus, heldAlertRuns: number): Observation[] {
  if (status.warehouse.length === 0) return []
  const stale = status.warehouse.filter((t) => !t.fresh)
  const held = status.warehouse.filter((t) => t.held > 0 && t.heldForRuns >= heldAlertRuns)
  return [
    {
      incident: 'freshness',
      kind: 'freshness',
      firing: stale.length > 0,
      title: stale.length > 0 ? `the warehouse is ${age(Math.max(...stale.map((t) => t.lagMs)))} behind the source` : 'the warehouse is fresh again',
      detail:
        stale.length > 0
          ? `${stale.length} tables lag more than the ${age(status.freshnessTargetMs)} target: ${stale.map((t) => t.table).join(', ')}.`
          : `Every table is within the ${age(status.freshnessTargetMs)} target.`,
    },
    {
      incident: 'held',
      kind: 'held',
      firing: held.length > 0,
      title: held.length > 0 ? `facts held for ${heldAlertRuns} or more loads` : 'no facts held too long',
      detail:
        held.length > 0
          ? `${held.map((t) => `${t.table}: ${t.held} rows, for ${t.heldForRuns} loads`).join('; ')}. Their dimension rows have not arrived; check the source's referential integrity.`
          : 'Every held fact has been released or is recent.',
    },
  ]
}
