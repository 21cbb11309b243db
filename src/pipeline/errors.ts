import { StarlineError } from '../core/starline-error.js'

export class PipelineError extends StarlineError {}

/** The stage was asked to stop (Ctrl-C, Lambda timeout). */
export class StageAbortedError extends PipelineError {
  /** @param committed runs the stage had already committed when it stopped (they stay: each is whole). */
  constructor(stage: string, committed: readonly string[] = []) {
    const done =
      committed.length === 0
        ? 'nothing it did is visible'
        : `the ${committed.length} run${committed.length === 1 ? '' : 's'} it committed (up to ${committed.at(-1)}) stay, each whole, and nothing of the next is visible`
    super(`The ${stage} stage was stopped before it finished; ${done}. Run it again to finish.`, { retryable: true })
  }
}

/** Another runner took the stage's lease over while this one was working (it overran the lease's time to live). */
export class LeaseLostError extends PipelineError {
  constructor(stage: string, runId: string) {
    super(
      `The ${stage} run ${runId} lost its lease to another runner (it could not renew it for longer than STARLINE_LEASE_TTL); it published nothing. ` +
        'Check its connection to the lake, or raise STARLINE_LEASE_TTL if the runner can pause that long.',
      { retryable: true },
    )
  }
}
