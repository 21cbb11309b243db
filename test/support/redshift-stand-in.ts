/**
 * PostgreSQL standing in for Redshift, for tests: the wire session on a
 * real PostgreSQL, with the two things PostgreSQL cannot parse handled
 * here, and nothing else changed:
 *
 * - the Redshift-only table attributes at the end of CREATE TABLE
 *   (DISTSTYLE, DISTKEY, SORTKEY, BACKUP) are cut off;
 * - `COPY <stage> FROM '<manifest>' IAM_ROLE ... FORMAT AS PARQUET MANIFEST`
 *   is handed to a test function that fills the stage the way COPY would.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { openDuckDb } from '../../src/engines/duckdb/duckdb-engine.js'
import type { ObjectStore } from '../../src/lake/object-store.js'
import { quoteLiteral } from '../../src/sql/quote.js'
import type { RedshiftSession, Statement, StatementResult } from '../../src/warehouse/redshift/redshift-session.js'
import { RedshiftWireSession } from '../../src/warehouse/redshift/redshift-wire-session.js'

const REDSHIFT_ATTRIBUTES = /\)(?: DISTSTYLE ALL)?(?: BACKUP NO)?(?: DISTKEY \((?:"[^"]*")+\))?(?: SORTKEY \((?:"[^"]*"(?:, )?)+\))?$/
const COPY = /^COPY (.+) FROM '((?:[^']|'')*)' IAM_ROLE '(?:[^']|'')*' FORMAT AS PARQUET MANIFEST$/

/** Fills `stage` (a qualified name) as COPY from `manifestUrl` would; returns the rows copied. */
export type CopyStandInFn = (stage: string, manifestUrl: string) => Promise<number>

export class RedshiftStandIn implements RedshiftSession {
  readonly describe = 'PostgreSQL standing in for Redshift'
  /** Every statement received, as Redshift would get it. */
  readonly statements: string[] = []
  /** Set to act like the Data API's batch limit. */
  maxTransactionStatements?: number
  readonly #inner: RedshiftWireSession

  constructor(
    readonly pool: pg.Pool,
    public copy: CopyStandInFn,
  ) {
    this.#inner = new RedshiftWireSession({ pool, describe: this.describe })
  }

  async query(statement: Statement): Promise<StatementResult> {
    this.statements.push(statement.sql)
    const copy = COPY.exec(statement.sql)
    if (!copy) return this.#inner.query(forPostgres(statement))
    return { rows: [], rowCount: await this.copy(copy[1]!, copy[2]!.replaceAll("''", "'")) }
  }

  transaction(statements: readonly Statement[]): Promise<readonly StatementResult[]> {
    if (this.maxTransactionStatements !== undefined && statements.length > this.maxTransactionStatements) {
      return Promise.reject(new Error(`stand-in: ${statements.length} statements in one transaction`))
    }
    this.statements.push(...statements.map((s) => s.sql))
    return this.#inner.transaction(statements.map(forPostgres))
  }

  close(): Promise<void> {
    return this.#inner.close()
  }
}

function forPostgres(statement: Statement): Statement {
  return statement.sql.startsWith('CREATE TABLE') ? { ...statement, sql: statement.sql.replace(REDSHIFT_ATTRIBUTES, ')') } : statement
}

/** An object store seen under another root URL (`s3://lake-bucket/processed`), so load plans carry S3 URLs. */
export function underRoot(store: ObjectStore, root: string): ObjectStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'root') return root
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/**
 * COPY as Redshift does it, from the lake: read the COPY manifest, then
 * every Parquet file it lists (DuckDB turns each into CSV), into the stage.
 */
export function copyFromLake(pool: pg.Pool, store: ObjectStore): CopyStandInFn {
  const keyOf = (url: string) => {
    if (!url.startsWith(`${store.root}/`)) throw new Error(`${url} is not in ${store.root}`)
    return url.slice(store.root.length + 1)
  }
  return async (stage, manifestUrl) => {
    const manifest = JSON.parse((await store.getBytes(keyOf(manifestUrl))).toString('utf8')) as { entries: { url: string; mandatory: boolean }[] }
    const dir = await mkdtemp(join(tmpdir(), 'starline-copy-'))
    const db = await openDuckDb({ scratchDir: dir })
    let rows = 0
    try {
      for (const entry of manifest.entries) {
        const parquet = await store.localPath(keyOf(entry.url), dir)
        const csv = join(dir, 'rows.csv')
        await db.run(`COPY (SELECT * FROM read_parquet(${quoteLiteral(parquet)})) TO ${quoteLiteral(csv)} (FORMAT csv, HEADER false)`)
        const client = await pool.connect()
        try {
          const stream = client.query(copyFrom(`COPY ${stage} FROM STDIN WITH (FORMAT csv)`))
          await pipeline(createReadStream(csv), stream)
          rows += stream.rowCount
        } finally {
          client.release()
        }
      }
    } finally {
      db.close()
      await rm(dir, { recursive: true, force: true })
    }
    return rows
  }
}
