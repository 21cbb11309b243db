/**
 * Maps AWS SDK errors to lake errors, once, for every S3 call: transient
 * failures (5xx, throttling, dropped connections, timeouts) are retryable;
 * the rest are terminal and say which bucket, key and setting to fix.
 *
 * The SDK has already retried transient failures with backoff
 * (`maxAttempts`, see s3-config.ts) by the time an error reaches here.
 */
import { StarlineError, messageOf } from '../../core/starline-error.js'
import { LakeError, ObjectNotFoundError } from '../errors.js'

export interface S3ErrorContext {
  /** The store's root URL, `s3://bucket/prefix`. */
  readonly root: string
  readonly bucket: string
  /** The lake key (relative to the root), when the call was about one object. */
  readonly key?: string
  /** What was attempted, as in "write" or "list". */
  readonly action: string
}

/** Error names the SDK and S3 use for throttling and transient server trouble. */
const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'RequestLimitExceeded', 'TooManyRequestsException',
  'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'NetworkingError',
])
/** Node socket errors: the connection dropped or never came up. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH'])

interface SdkErrorShape {
  readonly name?: string
  readonly code?: string
  readonly Code?: string
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number }
  readonly $retryable?: unknown
}

/** The HTTP status of an SDK error, when it got an answer. */
export function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | null)?.$metadata?.httpStatusCode
}

/** How many attempts the SDK made before this answer (1 = no retry). */
export function attemptsOf(value: unknown): number {
  return (value as SdkErrorShape | null)?.$metadata?.attempts ?? 1
}

/** The condition of a conditional write failed (`If-None-Match`, `If-Match`). */
export function isPreconditionFailed(error: unknown): boolean {
  const shape = error as SdkErrorShape | null
  return statusOf(error) === 412 || shape?.name === 'PreconditionFailed' || shape?.Code === 'PreconditionFailed'
}

/** The object (not the bucket) is missing. */
export function isNoSuchKey(error: unknown): boolean {
  const name = (error as SdkErrorShape | null)?.name
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(error) === 404 && name !== 'NoSuchBucket')
}

export function isTransient(error: unknown): boolean {
  const shape = error as SdkErrorShape | null
  if (shape === null || typeof shape !== 'object') return false
  const status = statusOf(error)
  if (status !== undefined && (status >= 500 || status === 429)) return true
  if (shape.$retryable !== undefined) return true
  if (shape.name !== undefined && TRANSIENT_NAMES.has(shape.name)) return true
  if (shape.code !== undefined && NETWORK_CODES.has(shape.code)) return true
  return /socket hang up|ECONNRESET|EPIPE|network/i.test(messageOf(error))
}

/** One lake error for any failure of an S3 call; StarlineErrors pass through unchanged. */
export function mapS3Error(error: unknown, where: S3ErrorContext): StarlineError {
  if (error instanceof StarlineError) return error
  const { root, bucket, key, action } = where
  const what = key === undefined ? `${action} in ${root}` : `${action} "${key}" in ${root}`
  const context = { bucket, ...(key === undefined ? {} : { key }) }
  const status = statusOf(error)
  const name = (error as SdkErrorShape | null)?.name ?? 'Error'
  if (isTransient(error)) {
    return new LakeError(`Cannot ${what}: S3 failed transiently (${name}${status ? `, HTTP ${status}` : ''}) even after retries. Try again; it usually passes.`, {
      cause: error,
      retryable: true,
      context,
    })
  }
  if (name === 'NoSuchBucket') {
    return new LakeError(`Cannot ${what}: the bucket "${bucket}" does not exist. Create it, or fix the bucket in STARLINE_INGESTION_URL / STARLINE_PROCESSED_URL.`, { cause: error, context })
  }
  if (key !== undefined && isNoSuchKey(error)) return new ObjectNotFoundError(root, key, { cause: error, context })
  if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'ExpiredToken') {
    return new LakeError(
      `Cannot ${what}: access denied (${name}). Check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID or the function's role) and that they allow s3:${s3Action(action)} on "${bucket}"${key === undefined ? '' : ` for this key`}.`,
      { cause: error, context },
    )
  }
  if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    return new LakeError(`Cannot ${what}: the bucket "${bucket}" is in another region (${name}). Set AWS_REGION to the bucket's region.`, { cause: error, context })
  }
  if (name === 'CredentialsProviderError') {
    return new LakeError(`Cannot ${what}: no AWS credentials were found. Set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role.`, { cause: error, context })
  }
  if (/Region is missing/i.test(messageOf(error))) {
    return new LakeError(`Cannot ${what}: no AWS region is set. Set AWS_REGION to the bucket's region.`, { cause: error, context })
  }
  return new LakeError(`Cannot ${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${messageOf(error)}`, { cause: error, context })
}

function s3Action(action: string): string {
  if (action.startsWith('list')) return 'ListBucket'
  if (action.startsWith('delete')) return 'DeleteObject'
  if (action.startsWith('read') || action.startsWith('download') || action.startsWith('check')) return 'GetObject'
  return 'PutObject'
}
