/**
 * The root of every error starline raises on purpose.
 *
 * Each layer has its own `errors.ts` with subclasses. An error is either
 * **retryable** (the same call may succeed later: a lost connection, a
 * serialization failure) or **terminal** (bad data, bad config: retrying
 * changes nothing). Messages say what failed, where, and what to do, and
 * never contain a secret.
 */
export interface StarlineErrorOptions {
  readonly cause?: unknown
  readonly retryable?: boolean
  /** Where it happened: run id, table, object key, setting name... */
  readonly context?: Readonly<Record<string, string | number | undefined>>
}

export class StarlineError extends Error {
  readonly retryable: boolean
  readonly context: Readonly<Record<string, string | number | undefined>>

  constructor(message: string, options: StarlineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.retryable = options.retryable ?? false
    this.context = Object.freeze({ ...options.context })
  }
}

/** The message of anything thrown, for wrapping foreign errors. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
