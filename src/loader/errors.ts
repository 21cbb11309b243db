/**
 * Errors of the Parquet loader. All are terminal unless they wrap a transient
 * failure of the store or the warehouse: a bad spec or bad data stays bad.
 */
import { StarlineError } from '../core/starline-error.js'

export class LoaderError extends StarlineError {}

/** The spec file is missing, is not JSON, or says something invalid. */
export class LoaderSpecError extends LoaderError {}

/** The Parquet files do not match the spec: no files, other columns, a value that does not fit. */
export class LoaderDataError extends LoaderError {}
