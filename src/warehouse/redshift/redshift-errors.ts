/**
 * The one place Redshift errors are mapped, whichever connector raised
 * them: a wire-protocol error (SQLSTATE), a Data API exception (its name,
 * its HTTP status) or a Data API statement that FAILED (its message).
 * Transient failures are retryable: lost connections, throttling, 5xx, and
 * Redshift's serializable-isolation conflicts (error 1023). Bad SQL, bad
 * data, missing permissions and bad configuration are terminal.
 */
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { isRetryablePostgresError } from '../../engines/postgres/postgres-errors.js'
import { WarehouseError, WarehouseLoadError, WarehouseUnreachableError } from '../errors.js'

/** A Redshift URL, IAM role or connector setting that cannot work. */
export class RedshiftConfigError extends WarehouseError {}

/** A Data API statement that ended FAILED or ABORTED, with Redshift's own message. */
export class RedshiftStatementError extends WarehouseError {}

/** COPY rejected rows; the message lists what Redshift recorded in sys_load_error_detail. */
export class RedshiftCopyError extends WarehouseLoadError {}

const RETRYABLE_API_ERRORS = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'ActiveStatementsExceededException',
  'ActiveSessionsExceededException',
  'ActiveWaitingRequestsExceededException',
  'InternalServerException',
  'DatabaseConnectionException',
  'ServiceUnavailableException',
  'RequestTimeout',
  'TimeoutError',
])

const RETRYABLE_MESSAGES = /serializable isolation violation|\b1023\b|concurrent transaction|connection (?:reset|refused|closed|terminated)|server closed the connection|cluster is (?:resizing|rebooting|paused)|throttl/i

/** True when the same call may succeed later. */
export function isRetryableRedshiftError(error: unknown): boolean {
  if (error instanceof StarlineError) return error.retryable
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | null
  if (typeof e?.name === 'string' && RETRYABLE_API_ERRORS.has(e.name)) return true
  if ((e?.$metadata?.httpStatusCode ?? 0) >= 500 || e?.$retryable) return true
  return isRetryablePostgresError(error) || RETRYABLE_MESSAGES.test(messageOf(error))
}

/** Redshift says a COPY failed and where it recorded why. */
export function isCopyLoadError(error: unknown): boolean {
  return /load into table|stl_load_errors|sys_load_error_detail/i.test(messageOf(error))
}

/** A driver's message on one line without its final period (ours follows). */
function oneLine(error: unknown): string {
  return messageOf(error).replace(/\s+/g, ' ').trim().replace(/\.$/, '')
}

export interface ErrorPlace {
  /** Password-free: `redshift://user@host:5439/dev`, `redshift-data://serverless/wg/dev`. */
  readonly describe: string
  readonly runId?: string
  readonly table?: string
  readonly setting?: string
}

/** No connection (wire) or no API access (Data API): credentials, network, region. */
export function unreachableError(error: unknown, place: ErrorPlace): WarehouseUnreachableError {
  const hint = place.setting ? ` Check ${place.setting} and the credentials in the environment.` : ''
  return new WarehouseUnreachableError(`Cannot reach ${place.describe}: ${oneLine(error)}.${hint}`, {
    cause: error,
    retryable: isRetryableRedshiftError(error),
  })
}

/** Anything that failed while working on the warehouse; errors starline raised pass through. */
export function warehouseError(error: unknown, place: ErrorPlace): StarlineError {
  if (error instanceof StarlineError && !(error instanceof RedshiftStatementError)) return error
  const retryable = isRetryableRedshiftError(error)
  const name = (error as { name?: unknown } | null)?.name
  if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException' || name === 'ExpiredTokenException') {
    return unreachableError(error, place)
  }
  if (place.runId !== undefined) {
    const where = place.table === undefined ? '' : ` into "${place.table}"`
    const retry = retryable ? ' The transaction was rolled back; it is safe to run the load again.' : ''
    return new WarehouseLoadError(`Cannot load run ${place.runId}${where} on ${place.describe}: ${oneLine(error)}.${retry}`, {
      cause: error,
      retryable,
      context: { runId: place.runId, table: place.table },
    })
  }
  return new WarehouseError(`${place.describe} failed: ${oneLine(error)}.`, { cause: error, retryable })
}
