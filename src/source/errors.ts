import { StarlineError } from '../core/starline-error.js'

export class SourceError extends StarlineError {}

/** The source database cannot be reached or refused the login. */
export class SourceUnreachableError extends SourceError {}

/** A table the dataset needs is missing from the source. */
export class SourceTableMissingError extends SourceError {}
