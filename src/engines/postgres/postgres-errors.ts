/**
 * Classifies PostgreSQL driver errors once, by SQLSTATE class, as dlt's SQL
 * clients do: connection trouble and serialization failures are retryable;
 * bad data and constraint violations are terminal.
 */

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300', '55P03'])
const RETRYABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

export function isRetryablePostgresError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') {
    // pg's own connection errors carry no code; "not queryable" is a client whose connection already failed.
    return error instanceof Error && /Connection terminated|timeout expired|Client has encountered a connection error|not queryable/i.test(error.message)
  }
  if (RETRYABLE_NETWORK_CODES.has(code)) return true
  return code.startsWith('08') || RETRYABLE_SQLSTATES.has(code)
}
