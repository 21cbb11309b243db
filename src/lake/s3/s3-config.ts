/**
 * Where an S3 lake lives and how to reach it: `s3://bucket[/prefix]` plus the
 * standard AWS settings, read the way the AWS CLI reads them, so the same
 * lake URL works against AWS and any S3-compatible server (moto, MinIO).
 *
 * - Region: `AWS_REGION` (or `AWS_DEFAULT_REGION`); with a custom endpoint
 *   and no region, `us-east-1`, which S3-compatible servers accept.
 * - Credentials: the SDK's default chain (environment, profile, SSO, web
 *   identity, container and instance roles); never read or logged here.
 * - Endpoint: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`. A custom
 *   endpoint switches on path-style addressing (`host/bucket/key`), since
 *   such servers rarely resolve `bucket.host` names.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { LakeError } from '../errors.js'

export interface S3Location {
  readonly bucket: string
  /** Key prefix of the zone, without leading or trailing `/`; '' for the bucket's root. */
  readonly prefix: string
}

/** Settings that shape the S3 client, resolved from the environment. */
export interface S3ConnectionSettings {
  readonly region?: string
  readonly endpoint?: string
  readonly forcePathStyle: boolean
  readonly maxAttempts: number
}

/** Attempts per request (first try + retries with exponential backoff) unless AWS_MAX_ATTEMPTS says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 5

/** Bucket naming rules of general purpose buckets, so a typo fails here and not as a 403 later. */
const BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

export function parseS3Url(url: string, setting = 'the lake URL'): S3Location {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url)
  if (!match) throw new LakeError(`${setting} must look like s3://bucket or s3://bucket/prefix; got ${JSON.stringify(url)}.`)
  const bucket = match[1]!
  if (!BUCKET_NAME.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new LakeError(
      `${setting} names the bucket ${JSON.stringify(bucket)}, which is not a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens). Fix the bucket in ${setting}.`,
    )
  }
  const prefix = (match[2] ?? '').replace(/\/+$/, '')
  if (prefix !== '' && prefix.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new LakeError(`${setting} has the prefix ${JSON.stringify(prefix)}: a prefix is /-separated non-empty segments, without . or .. (as in s3://bucket/lake/ingestion).`)
  }
  return { bucket, prefix }
}

/** The client settings the environment asks for. */
export function s3ConnectionSettings(env: NodeJS.ProcessEnv = process.env): S3ConnectionSettings {
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL)
  if (endpoint !== undefined) {
    try {
      new URL(endpoint)
    } catch {
      throw new LakeError(`AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL is not a URL; got ${JSON.stringify(endpoint)}. Set it as in http://127.0.0.1:9000, or unset it for AWS.`)
    }
  }
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint === undefined ? undefined : 'us-east-1')
  const attempts = nonEmpty(env.AWS_MAX_ATTEMPTS)
  const maxAttempts = attempts === undefined ? DEFAULT_MAX_ATTEMPTS : Number(attempts)
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new LakeError(`AWS_MAX_ATTEMPTS must be a whole number of at least 1; got ${JSON.stringify(attempts)}.`)
  }
  return { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}), forcePathStyle: endpoint !== undefined, maxAttempts }
}

/** Configuration for `new S3Client(...)`; credentials are left to the SDK's default chain. */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const settings = s3ConnectionSettings(env)
  return {
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    // The SDK's standard strategy: exponential backoff with jitter on 5xx, throttling and dropped connections.
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
