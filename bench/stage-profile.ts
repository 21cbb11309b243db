/**
 * Where a stage's time goes: an untimed replay of the first full extract or
 * load, into a fresh lake or warehouse, with every PostgreSQL statement timed
 * (bench/query-timer.ts). Statements are grouped by what they do; the rest
 * of the stage's time is spent outside PostgreSQL statements (JavaScript,
 * DuckDB, files). The replay pays tsx's start-up and the timer's overhead,
 * so its shares, not its seconds, are what to read.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ExtractSummary, LoadSummary, } from '../src/schema/summaries.js'
import { measure } from './measure.js'
import type { TimedQuery } from './query-timer.js'

export interface StatementGroup {
  readonly kind: string
  readonly ms: number
  readonly count: number
  /** Per table, largest first. */
  readonly tables: readonly { readonly table: string; readonly ms: number }[]
}

export interface StageProfile {
  readonly stage: 'extract' | 'load'
  /** The replay's own durationMs. */
  readonly stageMs: number
  /** CPU of the replay process, when GNU time measured it. */
  readonly cpuMs?: number
  /** Time inside PostgreSQL statements (serial on one connection, so it adds up). */
  readonly statementsMs: number
  /** Largest groups first. */
  readonly groups: readonly StatementGroup[]
}

const TIMER = fileURLToPath(new URL('./query-timer.ts', import.meta.url))

export async function profileStage(
  stage: 'extract' | 'load',
  options: { readonly starlineBin: string; readonly env: NodeJS.ProcessEnv; readonly scratchDir: string; readonly timeoutMs: number },
): Promise<StageProfile> {
  const log = join(options.scratchDir, `queries-${stage}-${Date.now()}.json`)
  const run = await measure(process.execPath, ['--import', 'tsx', '--import', TIMER, options.starlineBin, stage, '--json'], {
    env: { ...options.env, BENCH_QUERY_LOG: log },
    timeoutMs: options.timeoutMs,
    label: `profiling replay of starline ${stage}`,
    scratchDir: options.scratchDir,
  })
  const summary = JSON.parse(run.stdout) as ExtractSummary | LoadSummary
  const queries = JSON.parse(await readFile(log, 'utf8')) as TimedQuery[]
  await rm(log, { force: true })
  const groups = new Map<string, { ms: number; count: number; tables: Map<string, number> }>()
  for (const q of queries) {
    const { kind, table } = labelStatement(q.sql)
    const group = groups.get(kind) ?? { ms: 0, count: 0, tables: new Map<string, number>() }
    group.ms += q.ms
    group.count += 1
    if (table !== undefined) group.tables.set(table, (group.tables.get(table) ?? 0) + q.ms)
    groups.set(kind, group)
  }
  return {
    stage,
    stageMs: summary.durationMs,
    ...(run.cpuMs === undefined ? {} : { cpuMs: run.cpuMs }),
    statementsMs: queries.reduce((sum, q) => sum + q.ms, 0),
    groups: [...groups]
      .map(([kind, g]) => ({ kind, ms: g.ms, count: g.count, tables: [...g.tables].map(([table, ms]) => ({ table, ms })).sort((a, b) => b.ms - a.ms) }))
      .sort((a, b) => b.ms - a.ms),
  }
}

/** What a statement does, and the table it does it to where there is one. */
export function labelStatement(sql: string): { readonly kind: string; readonly table?: string } {
  const name = (pattern: RegExp) => pattern.exec(sql)?.[1]?.replace(/"/g, '').replace(/^public\./, '')
  const target = (after: string) => name(new RegExp(`${after} ("?\\w+"?(?:\\."?\\w+"?)?)`, 'i'))
  const rules: [RegExp, string, string | undefined][] = [
    [/^COPY \(SELECT/i, 'COPY TO STDOUT', 'FROM'],
    [/^COPY .* FROM STDIN/i, 'COPY FROM STDIN', '^COPY'],
    [/^SELECT .*md5\(ROW/i, 'reconcile: hash every row', 'FROM'],
    [/^WITH newest AS/i, 'window end: newest last_updated', undefined],
    [/^ALTER TABLE .* ADD CONSTRAINT .* FOREIGN KEY/i, 'add keys back (indexes built, foreign keys NOT VALID)', '^ALTER TABLE'],
    [/^ALTER TABLE .* DROP CONSTRAINT/i, 'drop constraints', '^ALTER TABLE'],
    [/^ALTER TABLE/i, 'alter table', '^ALTER TABLE'],
    [/^SELECT count\(\*\)::text AS missing FROM \(SELECT s\.ctid FROM/i, 'held-row check (proves every reference, one pass)', 'FROM \\(SELECT s\\.ctid FROM'],
    [/^WITH waiting AS/i, 'held-row check: move the unresolved rows', 'DELETE FROM'],
    [/^WITH released AS/i, 'release held rows', 'INSERT INTO'],
    [/^INSERT INTO .*_starline_load/i, 'ledger rows', undefined],
    [/^INSERT INTO/i, 'INSERT ... SELECT', '^INSERT INTO'],
    [/^UPDATE/i, 'UPDATE', '^UPDATE'],
    [/^DELETE/i, 'DELETE', '^DELETE FROM'],
    [/^ANALYZE/i, 'ANALYZE', '^ANALYZE'],
    [/^CREATE TEMP/i, 'create staging tables', undefined],
    [/^(CREATE|DROP)/i, 'DDL: create if missing', undefined],
    [/^(BEGIN|COMMIT|ROLLBACK|SET|SELECT set_config|SELECT pg_advisory)/i, 'transaction control, settings, locks', undefined],
    [/^SELECT/i, 'other SELECTs (catalog, ledger, ids)', undefined],
  ]
  for (const [pattern, kind, after] of rules) {
    if (!pattern.test(sql)) continue
    const table = after === undefined ? undefined : target(after)
    return table === undefined ? { kind } : { kind, table }
  }
  return { kind: `other: ${sql.slice(0, 40)}` }
}
