/**
 * The one place PostgreSQL source errors are mapped: a driver error becomes
 * a SourceError naming what was being read, retryable or terminal by its
 * SQLSTATE (a lost connection can be retried; a permission error cannot).
 */
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { isRetryablePostgresError, sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { SourceError } from '../errors.js'

export function sourceError(error: unknown, describe: string, reading: string): StarlineError {
  if (error instanceof StarlineError) return error
  const retryable = isRetryablePostgresError(error)
  const advice = retryable
    ? ' The connection or snapshot failed; nothing was published, so running extract again is safe.'
    : sqlStateOf(error) === '42501'
      ? ' Grant the source user SELECT on the tables.'
      : sqlStateOf(error) === '57014'
        ? ' The source cancelled the statement (its statement_timeout, or an operator): raise statement_timeout for the source user, then run extract again.'
        : ''
  return new SourceError(`Cannot read ${reading} from ${describe}: ${messageOf(error)}.${advice}`, { cause: error, retryable })
}
