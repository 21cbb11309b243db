/**
 * How the Redshift warehouse connects, parsed from its URL:
 *
 * - `redshift://user@host:5439/database`: the PostgreSQL wire protocol. The
 *   password comes from PGPASSWORD (or a secret resolved into it), never
 *   from the URL in a file. TLS is on; `?sslmode=disable` turns it off (only
 *   for a local stand-in).
 * - `redshift-data://serverless/<workgroup>/<database>`: the Data API for a
 *   Serverless workgroup, authenticated by the caller's IAM identity.
 * - `redshift-data://cluster/<cluster-id>/<database>?db_user=<user>`: the
 *   Data API for a provisioned cluster with temporary credentials for
 *   `db_user` (or the IAM identity when absent).
 * - Either Data API form takes `?secret_arn=<arn>` (Secrets Manager) and
 *   `?region=<region>` (else the SDK's default region).
 */
import { RedshiftConfigError } from './redshift-errors.js'
import type { RedshiftSession } from './redshift-session.js'


export type RedshiftConnection =
  | { readonly kind: 'wire'; readonly url: string; readonly ssl: boolean }
  | {
      readonly kind: 'data-api'
      readonly target: { readonly workgroup: string } | { readonly cluster: string; readonly dbUser?: string }
      readonly database: string
      readonly secretArn?: string
      readonly region?: string
    }

export interface RedshiftWarehouseConfig {
  /** The role Redshift assumes to read the lake (`COPY ... IAM_ROLE`): STARLINE_REDSHIFT_IAM_ROLE. */
  readonly iamRole: string
  /** Where COPY manifests are written (reserved prefix of the processed zone). Default `_copy/`. */
  readonly copyPrefix?: string
  /** The connection: a URL, or a ready session (tests, Lambda). */
  readonly connection: { readonly url: string; readonly setting?: string } | { readonly session: RedshiftSession }
}

const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/

/** Checks the role ARN: a wrong one would only fail later, inside COPY. */
export function parseIamRole(value: string | undefined, setting = 'STARLINE_REDSHIFT_IAM_ROLE'): string {
  if (!value) {
    throw new RedshiftConfigError(
      `${setting} is not set. Redshift reads the lake with COPY ... IAM_ROLE: set it to the ARN of a role the cluster may assume, e.g. arn:aws:iam::123456789012:role/starline-copy.`,
    )
  }
  // Several chained roles are comma-separated: check each.
  for (const part of value.split(',')) {
    if (!IAM_ROLE_ARN.test(part)) {
      throw new RedshiftConfigError(`${setting} is not an IAM role ARN (${JSON.stringify(part)}). Expected arn:aws:iam::123456789012:role/name.`)
    }
  }
  return value
}

export function parseRedshiftUrl(value: string, setting = 'STARLINE_WAREHOUSE_URL'): RedshiftConnection {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new RedshiftConfigError(`${setting} is not a valid URL. Expected redshift://user@host:5439/database or redshift-data://serverless/<workgroup>/<database>.`)
  }
  if (url.protocol === 'redshift:') {
    if (!url.hostname || url.pathname.length <= 1 || !url.username) {
      throw new RedshiftConfigError(`${setting} must name a user, a host and a database, as in redshift://user@host:5439/database (password in PGPASSWORD).`)
    }
    const ssl = url.searchParams.get('sslmode') !== 'disable'
    const wire = new URL(value)
    wire.protocol = 'postgres:'
    wire.port ||= '5439'
    wire.search = ''
    return { kind: 'wire', url: wire.href, ssl }
  }
  if (url.protocol !== 'redshift-data:') {
    throw new RedshiftConfigError(`${setting} must be a redshift:// or redshift-data:// URL, not ${url.protocol}//.`)
  }
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  const usage =
    'Expected redshift-data://serverless/<workgroup>/<database> or redshift-data://cluster/<cluster-id>/<database>?db_user=<user>.'
  if (parts.length !== 2 || (url.hostname !== 'serverless' && url.hostname !== 'cluster') || url.username || url.password) {
    throw new RedshiftConfigError(`${setting} is not a Redshift Data API URL. ${usage}`)
  }
  const [name, database] = parts as [string, string]
  const dbUser = url.searchParams.get('db_user') ?? undefined
  if (url.hostname === 'serverless' && dbUser) {
    throw new RedshiftConfigError(`${setting}: db_user applies to provisioned clusters only; a Serverless workgroup takes the IAM identity or secret_arn.`)
  }
  const secretArn = url.searchParams.get('secret_arn') ?? undefined
  const region = url.searchParams.get('region') ?? undefined
  return {
    kind: 'data-api',
    target: url.hostname === 'serverless' ? { workgroup: name } : { cluster: name, ...(dbUser ? { dbUser } : {}) },
    database,
    ...(secretArn ? { secretArn } : {}),
    ...(region ? { region } : {}),
  }
}

/** The URL with no password and no secret ARN, for messages and logs. */
export function describeRedshiftUrl(value: string): string {
  try {
    const url = new URL(value)
    url.password = ''
    if (url.searchParams.has('secret_arn')) url.searchParams.set('secret_arn', '***')
    return url.href
  } catch {
    return 'the Redshift warehouse'
  }
}
