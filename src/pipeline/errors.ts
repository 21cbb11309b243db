import { StarlineError } from '../core/starline-error.js'

export class PipelineError extends StarlineError {}

/** The stage was asked to stop (Ctrl-C, Lambda timeout). */
export class StageAbortedError extends PipelineError {
  constructor(stage: string) {
    super(`The ${stage} stage was stopped before it finished; nothing it did is visible. Run it again to finish.`, {
      retryable: true,
    })
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
