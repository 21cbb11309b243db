/**
 * Reading the source PostgreSQL database: one connection, one consistent
 * snapshot for all tables of a run, bulk reads with `COPY ... TO STDOUT`.
 */
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import type { Readable } from 'node:stream'
import { quoteIdent, quoteLiteral, qualify } from '../sql/quote.js'
import { isRetryablePostgresError } from '../sql/postgres-errors.js'
import { redactUrl } from '../observe/redact.js'
import { messageOf } from '../starline-error.js'
import type { ManifestColumn, WatermarkRange } from '../lake/manifest.js'
import { SourceTableMissingError, SourceUnreachableError } from './errors.js'

export interface SourceConnectOptions {
  /** Named in errors so the user knows which setting to fix. */
  readonly setting?: string
}

/**
 * Connects with a session whose output format cannot vary with the server's
 * settings: ISO dates, UTF-8.
 */
export async function connectSource(url: string, options: SourceConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'starline', connectionTimeoutMillis: 15_000 })
  try {
    await client.connect()
    await client.query("SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; SET extra_float_digits = 3")
  } catch (error) {
    await client.end().catch(() => {})
    const setting = options.setting ? ` Check ${options.setting}.` : ''
    throw new SourceUnreachableError(`Cannot connect to the source database ${redactUrl(url)}: ${messageOf(error)}.${setting}`, {
      cause: error,
      retryable: isRetryablePostgresError(error),
    })
  }
  return client
}

/**
 * Starts the read-only, repeatable-read transaction every read of a run
 * shares, so all tables are seen at the same instant.
 */
export async function beginSnapshot(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
}

/** Column names and types of each table, in table order, as the source has them now. */
export async function readSourceColumns(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, ManifestColumn[]>> {
  const result = await client.query<{ table_name: string; name: string; type: string; nullable: boolean }>(
    `SELECT c.relname AS table_name, a.attname AS name,
            format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema, tables],
  )
  const columns = new Map<string, ManifestColumn[]>()
  for (const row of result.rows) {
    const list = columns.get(row.table_name) ?? []
    list.push({ name: row.name, type: row.type, nullable: row.nullable })
    columns.set(row.table_name, list)
  }
  const missing = tables.filter((table) => !columns.has(table))
  if (missing.length > 0) {
    throw new SourceTableMissingError(
      `The source schema "${schema}" has no table ${missing.map((t) => `"${t}"`).join(', ')}. ` +
        'Point STARLINE_SOURCE_URL at the right database, or set STARLINE_SOURCE_SCHEMA.',
    )
  }
  return columns
}

export interface WindowEndOptions {
  readonly schema: string
  readonly tables: readonly { readonly name: string; readonly watermarkColumn: string }[]
  /** Rows younger than this may still be committing; leave them for the next run. */
  readonly lagMs: number
}

export interface WindowEnd {
  /** Inclusive upper bound for this run, `YYYY-MM-DD HH24:MI:SS.MS`, or null for an empty source. */
  readonly to: string | null
  /** Set when an open transaction held the window back: its age in ms. */
  readonly heldBackByTransactionMs?: number
}

/**
 * The newest watermark value this run may take, chosen so that no row can
 * later appear at or below it:
 * - at most the newest value present (nothing is claimed beyond what exists),
 * - at most now - lag (rows stamped just now may still be committing),
 * - below the start of any open transaction in the database: an application
 *   that stamps last_updated with now() writes its transaction's start time,
 *   and that row becomes visible only when it commits.
 */
export async function readWindowEnd(client: pg.ClientBase, options: WindowEndOptions): Promise<WindowEnd> {
  const newest = options.tables
    .map((t) => `SELECT max(${quoteIdent(t.watermarkColumn)})::timestamp(3) AS v FROM ${qualify(options.schema, t.name)}`)
    .join(' UNION ALL ')
  const result = await client.query<{ to: string | null; oldest_xact: string | null; held_ms: string | null }>(
    `WITH newest AS (SELECT max(v) AS v FROM (${newest}) t),
          open_tx AS (
            SELECT min(xact_start) AS started FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
               AND backend_type = 'client backend'),
          bound AS (
            SELECT LEAST(
                     (SELECT v FROM newest),
                     localtimestamp - make_interval(secs => $1::double precision / 1000),
                     (SELECT date_trunc('milliseconds', started::timestamp) - interval '1 millisecond' FROM open_tx)
                   ) AS v)
     SELECT to_char(date_trunc('milliseconds', (SELECT v FROM bound)), 'YYYY-MM-DD HH24:MI:SS.MS') AS to,
            (SELECT started::timestamp FROM open_tx)::text AS oldest_xact,
            CASE WHEN (SELECT started FROM open_tx) IS NOT NULL
                  AND (SELECT date_trunc('milliseconds', started::timestamp) - interval '1 millisecond' FROM open_tx) < (SELECT v FROM newest)
                 THEN (extract(epoch FROM clock_timestamp() - (SELECT started FROM open_tx)) * 1000)::bigint::text END AS held_ms`,
    [options.lagMs],
  )
  const row = result.rows[0]
  const heldMs = row?.held_ms == null ? undefined : Number(row.held_ms)
  return heldMs === undefined ? { to: row?.to ?? null } : { to: row?.to ?? null, heldBackByTransactionMs: heldMs }
}

/**
 * `COPY (SELECT <columns> FROM <table> WHERE from < watermark <= to) TO STDOUT`
 * as CSV with a header. COPY takes no bind parameters, so the bounds (which
 * starline formatted itself) go in as quoted literals.
 */
export function copyTableRange(
  client: pg.ClientBase,
  schema: string,
  table: string,
  columns: readonly string[],
  range: WatermarkRange,
  /** Rows to take whatever their watermark (silent edits found by reconciliation). */
  extra?: { readonly keyColumn: string; readonly keys: readonly string[] },
): Readable & { rowCount: number } {
  const lower = range.from === null ? '' : `${quoteIdent(range.column)} > ${quoteLiteral(range.from)}::timestamp AND `
  let where = `${lower}${quoteIdent(range.column)} <= ${quoteLiteral(range.to)}::timestamp`
  if (extra && extra.keys.length > 0) {
    where = `(${where}) OR ${quoteIdent(extra.keyColumn)}::text IN (${extra.keys.map(quoteLiteral).join(', ')})`
  }
  const sql =
    `COPY (SELECT ${columns.map(quoteIdent).join(', ')} FROM ${qualify(schema, table)} WHERE ${where}) ` +
    'TO STDOUT WITH (FORMAT csv, HEADER true)'
  return client.query(copyTo(sql)) as unknown as Readable & { rowCount: number }
}
