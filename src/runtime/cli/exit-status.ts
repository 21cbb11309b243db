/**
 * The `starline` command's exit statuses, so a scheduler (cron, systemd,
 * Airflow, a shell loop) can tell "try again" from "fix me" without reading
 * the message: 75 is sysexits' EX_TEMPFAIL, which several schedulers and
 * mail systems already treat as "retry later".
 */
import { ConfigError } from '../../config/errors.js'
import { isRetryable } from '../../core/retry.js'

export const EXIT = {
  /** Done. */
  ok: 0,
  /** Failed for a reason retrying will not fix: bad data, a schema mismatch, a bug. */
  failure: 1,
  /** Bad usage or configuration: an unknown flag, a missing or invalid setting. */
  usage: 2,
  /** Failed for a transient reason (connection lost, throttled, lease held): run again later. */
  retryable: 75,
  /** Stopped by a second Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT]

/** The exit status that tells a scheduler what to do about `error`. */
export function exitStatusOf(error: unknown): ExitStatus {
  if (error instanceof ConfigError) return EXIT.usage
  if (isRetryable(error)) return EXIT.retryable
  return EXIT.failure
}
