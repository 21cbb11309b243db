/**
 * Errors of the dashboard's HTTP layer. Each maps to one HTTP status; the
 * message is safe to show in the page (no connection string, no secret).
 */
import { StarlineError } from '../../core/starline-error.js'

/** A chart's query failed in the warehouse; `retryable` for lost connections and timeouts. */
export class DashboardQueryError extends StarlineError {}

/** The warehouse refused a write: the dashboard's connection is read-only by design. */
export class ReadOnlyViolationError extends StarlineError {}
