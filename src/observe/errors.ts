import { StarlineError } from '../core/starline-error.js'

export class ObserveError extends StarlineError {}

/** An alert could not be delivered (the incident is tried again at the next evaluation). */
export class AlertError extends ObserveError {}
