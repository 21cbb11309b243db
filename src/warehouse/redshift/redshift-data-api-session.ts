/**
 * The Redshift session through the Data API (@aws-sdk/client-redshift-data):
 * IAM authentication, no VPC access and no connection pool, which suits
 * Lambda. Each statement is submitted, then DescribeStatement is polled with
 * a growing delay until it ends; a transaction is one BatchExecuteStatement
 * (the Data API commits a batch as one transaction). Batches cannot take
 * more than 40 statements.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  type DescribeStatementCommandOutput,
  type Field,
  type SqlParameter,
} from '@aws-sdk/client-redshift-data'
import type { RedshiftConnection } from './redshift-config.js'
import { isRetryableRedshiftError, RedshiftConfigError, RedshiftStatementError } from './redshift-errors.js'
import { placeholders, type RedshiftSession, type Statement, type StatementResult, type TextRow } from './redshift-session.js'

/** The Data API's limit on statements in one BatchExecuteStatement. */
export const MAX_BATCH_STATEMENTS = 40

type DataApiTarget = Extract<RedshiftConnection, { kind: 'data-api' }>

/** What the session needs of the SDK client: `send` (tests pass a client pointed at moto). */
export type DataApiClient = Pick<RedshiftDataClient, 'send'>

export interface DataApiSessionOptions {
  readonly target: DataApiTarget
  readonly client?: DataApiClient
  /** First delay between DescribeStatement polls; it grows by half each poll up to `maxPollMs`. */
  readonly firstPollMs?: number
  readonly maxPollMs?: number
  /** A statement still running after this long is cancelled (its transaction rolls back). */
  readonly timeoutMs?: number
}

export class RedshiftDataApiSession implements RedshiftSession {
  readonly describe: string
  readonly maxTransactionStatements = MAX_BATCH_STATEMENTS
  readonly #client: DataApiClient
  readonly #ownsClient: boolean
  readonly #target: DataApiTarget
  readonly #firstPollMs: number
  readonly #maxPollMs: number
  readonly #timeoutMs: number

  constructor(options: DataApiSessionOptions) {
    this.#target = Object.freeze({ ...options.target })
    this.#ownsClient = options.client === undefined
    this.#client = options.client ?? new RedshiftDataClient(options.target.region ? { region: options.target.region } : {})
    this.#firstPollMs = options.firstPollMs ?? 200
    this.#maxPollMs = options.maxPollMs ?? 5_000
    this.#timeoutMs = options.timeoutMs ?? 30 * 60_000
    const t = this.#target.target
    this.describe = `the Redshift Data API (${'workgroup' in t ? `workgroup "${t.workgroup}"` : `cluster "${t.cluster}"`}, database "${this.#target.database}")`
  }

  /** Where every request goes: workgroup or cluster, database, and how to authenticate. */
  #where() {
    const t = this.#target.target
    return {
      Database: this.#target.database,
      ...('workgroup' in t ? { WorkgroupName: t.workgroup } : { ClusterIdentifier: t.cluster, ...(t.dbUser ? { DbUser: t.dbUser } : {}) }),
      ...(this.#target.secretArn ? { SecretArn: this.#target.secretArn } : {}),
    }
  }

  async query(statement: Statement): Promise<StatementResult> {
    const parameters = sqlParameters([statement])
    const submitted = await this.#client.send(
      new ExecuteStatementCommand({ ...this.#where(), Sql: statement.sql, StatementName: 'starline', ...(parameters.length ? { Parameters: parameters } : {}) }),
    )
    const done = await this.waitFor(submitted.Id!)
    return { rows: done.HasResultSet ? await this.fetchRows(done.Id!) : [], rowCount: Math.max(done.ResultRows ?? 0, 0) }
  }

  async transaction(statements: readonly Statement[]): Promise<readonly StatementResult[]> {
    if (statements.length > MAX_BATCH_STATEMENTS) {
      throw new RedshiftConfigError(
        `${statements.length} statements must run in one transaction, more than the ${MAX_BATCH_STATEMENTS} a Data API batch takes ` +
          '(a dataset with many tables). Connect over the wire instead: STARLINE_WAREHOUSE_URL=redshift://user@host:5439/database.',
      )
    }
    const parameters = sqlParameters(statements)
    const submitted = await this.#client.send(
      new BatchExecuteStatementCommand({
        ...this.#where(),
        Sqls: statements.map((s) => s.sql),
        StatementName: 'starline',
        ...(parameters.length ? { Parameters: parameters } : {}),
      }),
    )
    const done = await this.waitFor(submitted.Id!)
    const subs = done.SubStatements ?? []
    return Promise.all(
      statements.map(async (_, i) => {
        const sub = subs[i]
        return { rows: sub?.HasResultSet ? await this.fetchRows(sub.Id!) : [], rowCount: Math.max(sub?.ResultRows ?? 0, 0) }
      }),
    )
  }

  /**
   * Polls DescribeStatement until the statement ends. FAILED and ABORTED
   * become a RedshiftStatementError with Redshift's message (and, for a
   * batch, which statement failed); past the timeout it is cancelled.
   */
  async waitFor(id: string): Promise<DescribeStatementCommandOutput> {
    const deadline = Date.now() + this.#timeoutMs
    let delay = this.#firstPollMs
    for (;;) {
      const status = await this.#client.send(new DescribeStatementCommand({ Id: id }))
      if (status.Status === 'FINISHED') return status
      if (status.Status === 'FAILED' || status.Status === 'ABORTED') throw statementError(status)
      if (Date.now() + delay > deadline) {
        await this.#client.send(new CancelStatementCommand({ Id: id })).catch(() => undefined)
        throw new RedshiftStatementError(
          `Statement ${id} on ${this.describe} did not finish within ${Math.round(this.#timeoutMs / 1000)} s and was cancelled (its transaction rolled back). ` +
            'Run the load again; if it keeps timing out, check the workload (queues, concurrency scaling).',
          { retryable: true, context: { statementId: id } },
        )
      }
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(Math.round(delay * 1.5), this.#maxPollMs)
    }
  }

  /** Every page of a statement's result, as text rows keyed by column name. */
  async fetchRows(id: string): Promise<TextRow[]> {
    const rows: TextRow[] = []
    let token: string | undefined
    do {
      const page = await this.#client.send(new GetStatementResultCommand({ Id: id, ...(token ? { NextToken: token } : {}) }))
      const names = (page.ColumnMetadata ?? []).map((c, i) => c.name ?? c.label ?? `column_${i + 1}`)
      for (const record of page.Records ?? []) rows.push(Object.fromEntries(record.map((field, i) => [names[i]!, fieldText(field)])))
      token = page.NextToken
    } while (token)
    return rows
  }

  async close(): Promise<void> {
    if (this.#ownsClient) (this.#client as RedshiftDataClient).destroy()
  }
}

/**
 * A field as text. NOTE: the SDK parses JSON numbers into doubles, so a
 * longValue beyond 2^53 arrives rounded: queries that read 64-bit values
 * cast them to varchar (see redshift-ledger.ts).
 */
export function fieldText(field: Field): string | null {
  if (field.isNull) return null
  if (field.stringValue !== undefined) return field.stringValue
  if (field.longValue !== undefined) return String(field.longValue)
  if (field.doubleValue !== undefined) return String(field.doubleValue)
  if (field.booleanValue !== undefined) return String(field.booleanValue)
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64')
  return null
}

/** The named parameters the statements use (a batch shares one list, and every entry must be used). */
function sqlParameters(statements: readonly Statement[]): SqlParameter[] {
  const values = new Map<string, string>()
  for (const statement of statements) {
    for (const { name } of placeholders(statement.sql)) {
      const value = statement.params?.[name]
      if (value === undefined) throw new Error(`SQL parameter :${name} has no value`)
      const text = String(value)
      if (values.has(name) && values.get(name) !== text) throw new Error(`SQL parameter :${name} has two values in one batch`)
      values.set(name, text)
    }
  }
  return [...values].map(([name, value]) => ({ name, value }))
}

function statementError(status: DescribeStatementCommandOutput): RedshiftStatementError {
  const failed = (status.SubStatements ?? []).findIndex((s) => s.Status === 'FAILED')
  const sub = failed >= 0 ? status.SubStatements![failed]! : undefined
  const where = sub ? ` (statement ${failed + 1} of the batch: ${(sub.QueryString ?? '').slice(0, 120)})` : ''
  const message = sub?.Error ?? status.Error ?? (status.Status === 'ABORTED' ? 'the statement was cancelled' : 'no error message')
  // Redshift's message decides: a serialization conflict (1023) is worth retrying, bad SQL is not.
  return new RedshiftStatementError(`${message}${where}`, { retryable: isRetryableRedshiftError(new Error(message)), context: { statementId: status.Id } })
}
