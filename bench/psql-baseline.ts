/**
 * The physical-limit baseline: what `psql \copy` does with the same tables on
 * the same server. Each measurement is one psql process running every
 * `\copy` of the set from a script file, so process start-up and connection
 * are paid once, as starline pays them once per stage.
 *
 * - extract limit: `\copy (SELECT <the source columns> FROM <table>) TO <file> CSV HEADER`
 *   for each of the 11 source tables, the same query shape starline's
 *   `COPY ... TO STDOUT` runs, without the watermark filter.
 * - load limit: the star tables starline loaded, exported to CSV first
 *   (untimed), then `\copy <table> FROM <file> CSV` into empty tables made by
 *   `CREATE TABLE ... (LIKE <warehouse table>)`: same columns, types and
 *   NOT NULL, no keys or indexes (the bare limit, used for the ratio); and
 *   again into `LIKE ... INCLUDING INDEXES` tables (same primary keys and
 *   unique indexes, no foreign keys), for reference. One transaction each
 *   (`psql --single-transaction`), as starline loads a run in one.
 *
 * The extract and the bare load are timed `runs` times and the fastest
 * counts: a limit is the best the machine does, and a single psql run varied
 * by up to 30% between benches (page-cache writeback of the previous stage's
 * files, most likely).
 */
import { existsSync } from 'node:fs'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { qualify, quoteIdent, quoteLiteral } from '../src/sql/quote.js'
import { measure, runRaw, type Measurement } from './measure.js'

export interface Psql {
  readonly path: string
  /** e.g. "psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" */
  readonly version: string
}

export interface BaselineFigure {
  readonly rows: number
  readonly bytes: number
  readonly wallMs: number
  readonly peakRssBytes: number | undefined
  readonly cpuMs: number | undefined
  /** Wall time of every attempt; the figure is the fastest (the limit), see BENCH_BASELINE_RUNS. */
  readonly attemptsWallMs: readonly number[]
  /** psql CPU over all attempts, so the CPU meter does not count it as someone else's. */
  readonly attemptsCpuMs: number | undefined
  /** Rows per table, as psql's `COPY n` reported them. */
  readonly tables: Readonly<Record<string, number>>
}

export interface SourceTableColumns {
  readonly table: string
  readonly columns: readonly string[]
}

/** psql from BENCH_PSQL, /usr/bin/psql or the PATH; undefined when none runs. */
export async function findPsql(): Promise<Psql | undefined> {
  const candidates = [process.env.BENCH_PSQL, '/usr/bin/psql', 'psql'].filter((c): c is string => Boolean(c))
  for (const path of candidates) {
    if (path.includes('/') && !existsSync(path)) continue
    const probe = await runRaw(path, ['--version'], {}, 10_000)
    if (probe.exitCode === 0) return { path, version: probe.stdout.trim() }
  }
  return undefined
}

/** Times `\copy (SELECT ...) TO` of every source table into `dir`. */
export async function extractBaseline(
  psql: Psql,
  url: string,
  schema: string,
  tables: readonly SourceTableColumns[],
  dir: string,
  timeoutMs: number,
  runs: number,
  beforeAttempt: () => Promise<void> = async () => {},
): Promise<BaselineFigure> {
  const files = tables.map((t) => ({ table: t.table, file: join(dir, `${t.table}.csv`) }))
  const script = tables
    .map(
      (t, i) =>
        `\\copy (SELECT ${t.columns.map(quoteIdent).join(', ')} FROM ${qualify(schema, t.table)}) TO ${quoteLiteral(files[i]!.file)} WITH (FORMAT csv, HEADER true)`,
    )
    .join('\n')
  const attempts: BaselineFigure[] = []
  for (let i = 0; i < runs; i++) {
    await beforeAttempt()
    const run = await runScript(psql, url, script, join(dir, 'extract.sql'), { timeoutMs, label: 'psql \\copy TO (extract baseline)' })
    attempts.push(await figure(run, files))
  }
  return fastest(attempts)
}

export interface LoadBaseline {
  /** Into bare tables (columns, types, NOT NULL): the limit the ratio uses. */
  readonly bare: BaselineFigure
  /** Into tables with the warehouse's primary keys and unique indexes (no foreign keys). */
  readonly indexed: BaselineFigure
  /** CPU of the untimed export of the warehouse tables (psql), so it is not taken for someone else's. */
  readonly exportCpuMs: number | undefined
}

/**
 * Exports `tables` from the warehouse (untimed), then times loading them into
 * identical empty tables in a scratch schema, which is dropped afterwards.
 */
export async function loadBaseline(
  psql: Psql,
  url: string,
  schema: string,
  tables: readonly string[],
  dir: string,
  timeoutMs: number,
  runs: number,
  beforeAttempt: () => Promise<void> = async () => {},
): Promise<LoadBaseline> {
  const files = tables.map((table) => ({ table, file: join(dir, `${table}.csv`) }))
  const exportScript = files.map((f) => `\\copy ${qualify(schema, f.table)} TO ${quoteLiteral(f.file)} WITH (FORMAT csv)`).join('\n')
  const exported = await runScript(psql, url, exportScript, join(dir, 'export.sql'), { timeoutMs, label: 'psql \\copy TO (exporting the warehouse)' })

  const scratch = 'starline_bench_baseline'
  const into = (like: string) =>
    withClient(url, async (client) => {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(scratch)} CASCADE`)
      await client.query(`CREATE SCHEMA ${quoteIdent(scratch)}`)
      for (const table of tables) {
        await client.query(`CREATE TABLE ${qualify(scratch, table)} (LIKE ${qualify(schema, table)}${like})`)
      }
    })
  const copyScript = files.map((f) => `\\copy ${qualify(scratch, f.table)} FROM ${quoteLiteral(f.file)} WITH (FORMAT csv)`).join('\n')
  const timed = async (like: string, label: string): Promise<BaselineFigure> => {
    await into(like)
    await beforeAttempt()
    const run = await runScript(psql, url, copyScript, join(dir, 'load.sql'), { timeoutMs, label, singleTransaction: true })
    return figure(run, files)
  }
  try {
    const attempts: BaselineFigure[] = []
    for (let i = 0; i < runs; i++) attempts.push(await timed('', 'psql \\copy FROM (load baseline, bare tables)'))
    const bare = fastest(attempts)
    const indexed = await timed(' INCLUDING INDEXES', 'psql \\copy FROM (load baseline, indexed tables)')
    return { bare, indexed, exportCpuMs: exported.cpuMs }
  } finally {
    await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(scratch)} CASCADE`)).catch(() => {})
  }
}

async function runScript(
  psql: Psql,
  url: string,
  script: string,
  scriptFile: string,
  options: { readonly timeoutMs: number; readonly label: string; readonly singleTransaction?: boolean },
): Promise<Measurement> {
  await writeFile(scriptFile, `${script}\n`)
  // -X: no ~/.psqlrc; the connection goes in PG* variables so the password stays out of argv.
  const args = ['-X', '-v', 'ON_ERROR_STOP=1', '-f', scriptFile]
  if (options.singleTransaction) args.push('--single-transaction')
  return measure(psql.path, args, {
    env: { ...process.env, ...libpqEnv(url) },
    timeoutMs: options.timeoutMs,
    label: options.label,
    scratchDir: join(scriptFile, '..'),
  })
}

/** psql prints `COPY n` for each `\copy`, in script order. */
async function figure(run: Measurement, files: readonly { table: string; file: string }[]): Promise<BaselineFigure> {
  const counts = [...run.stdout.matchAll(/^COPY (\d+)$/gm)].map((m) => Number(m[1]))
  if (counts.length !== files.length) {
    throw new Error(`psql reported ${counts.length} COPY results for ${files.length} tables: ${run.stdout.trim().slice(0, 300)}`)
  }
  let bytes = 0
  for (const f of files) bytes += (await stat(f.file)).size
  return {
    rows: counts.reduce((a, b) => a + b, 0),
    bytes,
    wallMs: run.wallMs,
    peakRssBytes: run.peakRssBytes,
    cpuMs: run.cpuMs,
    attemptsWallMs: [run.wallMs],
    attemptsCpuMs: run.cpuMs,
    tables: Object.fromEntries(files.map((f, i) => [f.table, counts[i]!])),
  }
}

function fastest(attempts: readonly BaselineFigure[]): BaselineFigure {
  const best = [...attempts].sort((a, b) => a.wallMs - b.wallMs)[0]!
  const cpu = attempts.map((a) => a.cpuMs)
  return {
    ...best,
    attemptsWallMs: attempts.map((a) => a.wallMs),
    attemptsCpuMs: cpu.every((c) => c !== undefined) ? cpu.reduce((n, c) => n! + c!, 0) : undefined,
  }
}

export function libpqEnv(url: string): Record<string, string> {
  const u = new URL(url)
  return {
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    PGAPPNAME: 'starline-bench',
  }
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'starline-bench' })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}
