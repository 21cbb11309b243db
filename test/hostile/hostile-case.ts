/**
 * What a hostile case is: data (id, category, what it does, what must come
 * of it) plus a small act function. The runner (run-hostile-case.ts) turns
 * each into a test.
 */
import type { Pipeline } from '../support/pipeline-fixture.js'

/** The categories the suite covers, in report order. */
export const CATEGORIES = [
  'lake tampering',
  'manifests',
  'leases',
  'source values',
  'schema changes',
  'configuration',
  'warehouse tampering',
  'time zones',
  'faults',
] as const
export type Category = (typeof CATEGORIES)[number]

/**
 * Where a case starts: `fresh` (nothing run), `cycled` (one full cycle),
 * `extracted` (a cycle, then source changes extracted but not transformed),
 * `transformed` (those changes transformed but not loaded).
 */
export const START_STATES = ['fresh', 'cycled', 'extracted', 'transformed'] as const
export type StartState = (typeof START_STATES)[number]

/** What the case's act may use: the pipeline, the pending run, and file paths in the lake. */
export interface CaseContext {
  readonly pipeline: Pipeline
  /** The run extracted (and transformed) after the first cycle, for `extracted` and `transformed` starts. */
  readonly pendingRunId: string | undefined
  /** The file behind a lake object (the suite's lake is on disk). */
  file(zone: 'ingestion' | 'processed', key: string): string
  /** Values the act keeps for the fix (original bytes, ids). */
  readonly saved: Map<string, unknown>
}

/** A refusal's shape: the one-line message and whether a scheduler should simply retry. */
export interface Refusal {
  readonly message: RegExp
  /** Defaults to false (terminal). */
  readonly retryable?: boolean
}

/** The CLI's part in a configuration case: the command, settings over the pipeline's, and its exit. */
export interface CliCall {
  readonly args: readonly string[]
  /** Settings to add (a value) or remove (null) from the pipeline's own. */
  readonly env?: (ctx: CaseContext) => Readonly<Record<string, string | null>>
  readonly status: number
  /** For refusals: the stderr line that must appear. */
  readonly stderr?: RegExp
}

interface CaseBase {
  /** Unique, kebab-case, prefixed by its category's short name. */
  readonly id: string
  readonly category: Category
  /** What the case does to the pipeline, one line. */
  readonly does: string
  readonly start?: StartState
  readonly scale?: number
  readonly env?: Readonly<Record<string, string>>
  /** The hostile change (runs after the start state is reached). */
  readonly act?: (ctx: CaseContext) => Promise<void>
  /**
   * Set when the expected behaviour belongs to work not merged yet, or the
   * product does not yet do it: what is expected, and what was observed.
   * Such a case is reported as todo and does not count.
   */
  readonly todo?: string
}

/** The pipeline absorbs the change: after the next cycle(s) the warehouse equals the source. */
export interface ExactCase extends CaseBase {
  readonly expect: 'exact'
  /** Runs instead of one plain cycle (several cycles, a stage alone, a CLI run). */
  readonly run?: (ctx: CaseContext) => Promise<void>
  /** Source changes to make after the run and before comparing (say, a quarantined row corrected), then one more cycle. */
  readonly settle?: (ctx: CaseContext) => Promise<void>
}

/** The run refuses, changes nothing, and after the operator's fix a rerun equals the source. */
export interface RefusedCase extends CaseBase {
  readonly expect: 'refused'
  /** In-process refusals: the cycle (or `stage`) rejects with this. */
  readonly refusal?: Refusal
  readonly stage?: 'cycle' | 'extract' | 'transform' | 'load'
  /** CLI refusals: the command, its exit status and stderr line. */
  readonly cli?: CliCall
  /** The operator's documented fix. */
  readonly fix: (ctx: CaseContext) => Promise<void>
}

/** A fault is injected during or before a run; the run fails or copes, and a rerun converges exactly. */
export interface RecoveredCase extends CaseBase {
  readonly expect: 'recovered'
  /** Runs the faulted work; whatever it throws must be a one-line StarlineError when `refusal` is given. */
  readonly run: (ctx: CaseContext) => Promise<void>
  readonly refusal?: Refusal
}

export type HostileCase = ExactCase | RefusedCase | RecoveredCase
