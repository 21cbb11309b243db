import { StarlineError } from '../core/starline-error.js'

export class TransformError extends StarlineError {}

/** A model's output broke its column contract (a bug in the model, or data it did not expect). */
export class ModelContractError extends TransformError {}
