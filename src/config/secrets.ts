/**
 * Connection settings from AWS Secrets Manager. A function's environment names
 * a secret (ARN or name) instead of holding a URL with a password; this turns
 * the secret into the URL the configuration expects.
 *
 * A secret's value is JSON, either `{"url": "postgres://user:pw@host:5432/db"}`
 * or the shape RDS and Redshift write for managed credentials:
 * `{"engine": "postgres", "host", "port", "username", "password", "dbname"}`.
 *
 * Values are cached per secret id for the life of the process (warm Lambda
 * invocations reuse them); the Lambda runtime drops its cache after a failed
 * invocation, so a rotated password is picked up by the retry.
 * WARNING: nothing here may put a secret's value in a message or a log line.
 */
import { GetSecretValueCommand, SecretsManagerClient, type GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager'
import { messageOf } from '../core/starline-error.js'
import { SecretError } from './errors.js'

/** Where secret values come from: Secrets Manager, or a fake in unit tests. */
export interface SecretStore {
  getSecretString(secretId: string): Promise<string>
}

/** Which URL setting each secret-id variable fills. */
export const SECRET_SETTINGS = [
  { secretEnv: 'STARLINE_SOURCE_SECRET_ID', urlEnv: 'STARLINE_SOURCE_URL' },
  { secretEnv: 'STARLINE_WAREHOUSE_SECRET_ID', urlEnv: 'STARLINE_WAREHOUSE_URL' },
] as const

const RETRYABLE_NAMES = new Set(['InternalServiceError', 'ThrottlingException', 'TooManyRequestsException', 'RequestTimeout', 'TimeoutError'])
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])

/** Secrets Manager through the AWS SDK (region, credentials and `AWS_ENDPOINT_URL*` from the environment), or a given client. */
export function secretsManagerStore(client: SecretsManagerClient = new SecretsManagerClient({})): SecretStore {
  return {
    async getSecretString(secretId) {
      let answer: GetSecretValueCommandOutput
      try {
        answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }))
      } catch (error) {
        throw mapSecretsManagerError(error, secretId)
      }
      if (answer.SecretString === undefined) {
        throw new SecretError(`Secret "${secretId}" has no string value (a binary secret?). Store JSON such as {"url": "postgres://..."} in it.`, {
          context: { secretId },
        })
      }
      return answer.SecretString
    },
  }
}

/** One SDK failure as a SecretError: throttling, 5xx and dropped connections are retryable; the rest terminal. */
export function mapSecretsManagerError(error: unknown, secretId: string): SecretError {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }
  const status = e.$metadata?.httpStatusCode
  const retryable =
    e.$retryable !== undefined || RETRYABLE_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '') || (status !== undefined && status >= 500)
  const hint =
    e.name === 'ResourceNotFoundException'
      ? 'Check the secret id (ARN or name) and the region (AWS_REGION).'
      : e.name === 'AccessDeniedException' || status === 403
        ? 'Give the function\'s role secretsmanager:GetSecretValue on it (and kms:Decrypt on its key).'
        : retryable
          ? 'Secrets Manager is unreachable or throttling; the invocation is retried.'
          : 'Check the secret and the function\'s permissions.'
  return new SecretError(`Cannot read secret "${secretId}" from Secrets Manager: ${e.name ?? 'error'}: ${messageOf(error)}. ${hint}`, {
    cause: error,
    retryable,
    context: { secretId },
  })
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { postgres: 5432, redshift: 5439 }

/** The connection URL a secret's value describes. Throws a SecretError naming the secret (never the value) when it is malformed. */
export function urlFromSecret(value: string, secretId: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    // JSON.parse's message quotes the text it choked on: it must not reach a log.
    throw new SecretError(`Secret "${secretId}" is not JSON. Store {"url": "postgres://..."} or the RDS shape {"engine","host","port","username","password","dbname"}.`, {
      context: { secretId },
    })
  }
  if (typeof parsed !== 'object' || parsed === null) throw shapeError(secretId, 'it is not a JSON object')
  const fields = parsed as Record<string, unknown>
  if (typeof fields.url === 'string' && fields.url !== '') return fields.url
  const missing = ['host', 'username', 'password', 'dbname'].filter((k) => typeof fields[k] !== 'string' || fields[k] === '')
  if (missing.length > 0) throw shapeError(secretId, `it has neither "url" nor ${missing.map((k) => `"${k}"`).join(', ')}`)
  const engine = String(fields.engine ?? 'postgres').toLowerCase()
  const scheme = engine.includes('redshift') ? 'redshift' : engine.includes('postgres') ? 'postgres' : undefined
  if (scheme === undefined) throw shapeError(secretId, `its engine "${engine}" is not postgres or redshift`)
  const port = fields.port === undefined || fields.port === '' ? DEFAULT_PORTS[scheme] : Number(fields.port)
  if (!Number.isInteger(port) || port! <= 0 || port! > 65535) throw shapeError(secretId, 'its "port" is not a port number')
  const enc = (key: string) => encodeURIComponent(fields[key] as string)
  const host = (fields.host as string).includes(':') ? `[${fields.host as string}]` : (fields.host as string)
  return `${scheme}://${enc('username')}:${enc('password')}@${host}:${port}/${enc('dbname')}`
}

function shapeError(secretId: string, why: string): SecretError {
  return new SecretError(
    `Secret "${secretId}" cannot be used: ${why}. Store {"url": "postgres://..."} or {"engine","host","port","username","password","dbname"}.`,
    { context: { secretId } },
  )
}

/** Caches values per secret id; a failed read is not cached. */
export class SecretCache {
  readonly #store: SecretStore
  readonly #values = new Map<string, Promise<string>>()

  constructor(store: SecretStore) {
    this.#store = store
  }

  get(secretId: string): Promise<string> {
    let value = this.#values.get(secretId)
    if (value === undefined) {
      value = this.#store.getSecretString(secretId)
      this.#values.set(secretId, value)
      value.catch(() => this.#values.delete(secretId))
    }
    return value
  }

  clear(): void {
    this.#values.clear()
  }
}

/**
 * The environment with each `*_SECRET_ID` replaced by the URL its secret
 * holds. Setting both a secret id and its URL variable is refused as
 * ambiguous; neither leaves the setting to the configuration's defaults.
 */
export async function resolveSecretUrls(env: NodeJS.ProcessEnv, secrets: SecretCache): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value
  for (const { secretEnv, urlEnv } of SECRET_SETTINGS) {
    const secretId = env[secretEnv]
    if (!secretId) continue
    if (env[urlEnv]) {
      throw new SecretError(`Both ${secretEnv} and ${urlEnv} are set. Set one: the secret holds the URL.`, { context: { setting: secretEnv } })
    }
    out[urlEnv] = urlFromSecret(await secrets.get(secretId), secretId)
  }
  return out
}
