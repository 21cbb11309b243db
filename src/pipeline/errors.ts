import { StarlineError } from '../starline-error.js'

export class PipelineError extends StarlineError {}

/** The stage was asked to stop (Ctrl-C, Lambda timeout). */
export class StageAbortedError extends PipelineError {
  constructor(stage: string) {
    super(`The ${stage} stage was stopped before it finished; nothing it did is visible. Run it again to finish.`, {
      retryable: true,
    })
  }
}
