import { StarlineError } from '../../core/starline-error.js'

/** A Lambda received an event it cannot act on: terminal, retrying sends the same event. */
export class LambdaEventError extends StarlineError {}
