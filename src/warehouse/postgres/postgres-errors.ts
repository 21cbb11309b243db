/**
 * The one place PostgreSQL warehouse errors are mapped: a driver error
 * becomes a WarehouseError that names the run and table it hit, and is
 * retryable or terminal by its SQLSTATE (see engines/postgres). Errors starline
 * raised on purpose pass through unchanged.
 */
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { driverMessage } from '../../core/driver-message.js'
import { isRetryablePostgresError, sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { duplicateAdvice, WarehouseError, WarehouseLoadError, WarehouseUnreachableError } from '../errors.js'

export interface ErrorPlace {
  /** `the warehouse database postgres://user@host/db` (password-free). */
  readonly describe: string
  readonly runId?: string
  readonly table?: string
  /** The kind of `table`: a repeated key means the run's data is at fault in a dimension, an emptied ledger in a fact. */
  readonly kind?: 'dimension' | 'fact'
  /** The setting to check when the database cannot be reached. */
  readonly setting?: string
}

/** A connection could not be made. */
export function unreachableError(error: unknown, place: ErrorPlace): WarehouseUnreachableError {
  const hint = place.setting ? ` Check ${place.setting}.` : ''
  return new WarehouseUnreachableError(`Cannot connect to ${place.describe}: ${messageOf(error)}.${hint}`, {
    cause: error,
    retryable: isRetryablePostgresError(error),
  })
}

/** Anything that failed while working on the warehouse. */
export function warehouseError(error: unknown, place: ErrorPlace): StarlineError {
  if (error instanceof StarlineError) return error
  const retryable = isRetryablePostgresError(error)
  if (place.runId !== undefined && place.table !== undefined) {
    const retry = retryable
      ? ' The connection or transaction failed; it is safe to run the load again.'
      : sqlStateOf(error) === '23505'
        ? duplicateAdvice(place.kind)
        : ''
    return new WarehouseLoadError(`Cannot load run ${place.runId} into "${place.table}": ${driverMessage(error)}.${retry}`, {
      cause: error,
      retryable,
      context: { runId: place.runId, table: place.table },
    })
  }
  return new WarehouseError(`${place.describe} failed: ${driverMessage(error)}`, { cause: error, retryable })
}
