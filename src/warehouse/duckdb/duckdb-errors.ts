/**
 * DuckDB driver errors, mapped once. DuckDB raises plain Errors whose
 * message starts with the error class ("IO Error: ...", "Constraint Error:
 * ..."); that prefix decides retryable or terminal.
 */
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { driverMessage } from '../../core/driver-message.js'
import { duplicateAdvice, WarehouseError, WarehouseLoadError, WarehouseUnreachableError } from '../errors.js'

/** Another process holds the file's lock: DuckDB admits one writing process per database file. */
const LOCKED = /Could not set lock on file|Conflicting lock is held/i
/** Lost a write-write race inside the file, or ran out of memory: the same work may pass later. */
const RETRYABLE = /^(TransactionContext Error|Out of Memory Error|Interrupt Error)/i

function isRetryableDuckDbError(error: unknown): boolean {
  const message = messageOf(error)
  return LOCKED.test(message) || RETRYABLE.test(message)
}

/** The error for a database file that cannot be opened; a held lock says who holds it and what to do. */
export function openError(error: unknown, path: string): StarlineError {
  const message = messageOf(error)
  if (LOCKED.test(message)) {
    const holder = /held in (.+?) \(PID (\d+)\)/.exec(message)
    const who = holder ? ` (${holder[1]}, PID ${holder[2]})` : ''
    return new WarehouseUnreachableError(
      `Cannot open the DuckDB warehouse ${path}: another process${who} has it open, and a DuckDB file admits one writing process at a time. ` +
        'Close that process (a duckdb shell, a notebook, another starline) or wait for it to finish, then run again.',
      { cause: error, retryable: true, context: { path } },
    )
  }
  return new WarehouseUnreachableError(`Cannot open the DuckDB warehouse ${path}: ${message}. Check the folder exists and is writable.`, {
    cause: error,
    retryable: isRetryableDuckDbError(error),
    context: { path },
  })
}

/** Wraps a failed load statement with the run and table it was loading; StarlineErrors pass unchanged. */
export function loadError(error: unknown, runId: string, table: string, kind?: 'dimension' | 'fact'): StarlineError {
  if (error instanceof StarlineError) return error
  const advice = /^Constraint Error: .*duplicate key/i.test(messageOf(error)) ? duplicateAdvice(kind) : ''
  return new WarehouseLoadError(`Cannot load run ${runId} into "${table}": ${driverMessage(error)}${advice}`, {
    cause: error,
    retryable: isRetryableDuckDbError(error),
    context: { runId, table },
  })
}

/** Wraps any other failure of the warehouse file; StarlineErrors pass unchanged. */
export function warehouseError(error: unknown, path: string): StarlineError {
  if (error instanceof StarlineError) return error
  return new WarehouseError(`The DuckDB warehouse ${path} failed: ${driverMessage(error)}`, {
    cause: error,
    retryable: isRetryableDuckDbError(error),
    context: { path },
  })
}
