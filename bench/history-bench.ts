/**
 * `npm run bench:history`: does one incremental cycle cost the same after
 * many earlier runs? Two lakes from the same ToteSys source: one with 10
 * earlier runs, one with BENCH_HISTORY_RUNS (default 10,000), the extra runs
 * written directly (see history-lake.ts), not cycled. Both then take the
 * same simulated days; each `starline run` is timed (wall and CPU) in turns,
 * and the target is the large lake's cycle within 20% of the small one's.
 * The first cycle after growing is shown apart: it builds the large lake's
 * first history state from every earlier run, once.
 *
 * Settings (environment): BENCH_HISTORY_RUNS (earlier runs of the large
 * lake, default 10000), BENCH_HISTORY_SCALE (default 1), BENCH_HISTORY_REPEATS
 * (timed cycles per lake, default 3; the median counts), BENCH_SEED,
 * BENCH_HISTORY_CPU_PROF (a directory: write a CPU profile of every cycle there).
 * Also called from run-bench.ts, so `npm run bench` reports the target.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { generateTotesys } from '../src/datasets/totesys/generator.js'
import { historyEndBeforeTradingDay } from '../src/datasets/totesys/history-end.js'
import { simulateActivity } from '../src/datasets/totesys/simulator.js'
import { FsObjectStore } from '../src/lake/fs/fs-object-store.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../src/runtime/embedded-postgres-server.js'
import { quoteIdent } from '../src/sql/quote.js'
import { growLake } from './history-lake.js'
import { killLiveChildren, measure } from './measure.js'
import { withClient } from './psql-baseline.js'
import type { TargetCheck } from './results.js'

export interface HistoryBenchOptions {
  readonly server: EmbeddedPostgresServer
  readonly starlineBin: string
  readonly workDir: string
  readonly earlierRuns: number
  readonly scale: number
  readonly repeats: number
  readonly seed: number
  readonly say: (line: string) => void
  readonly env?: NodeJS.ProcessEnv
}

/** One timed `starline run`. */
export interface CycleFigure {
  readonly wallMs: number
  readonly cpuMs?: number
  readonly rows: number
}

export interface LakeFigures {
  readonly earlierRuns: number
  /** The first cycle after the runs were added (the large lake builds its first history state here). */
  readonly firstCycle: CycleFigure
  readonly changed: readonly CycleFigure[]
  readonly idle: readonly CycleFigure[]
}

export interface HistoryBenchResult {
  readonly scale: number
  readonly growMs: number
  readonly small: LakeFigures
  readonly large: LakeFigures
}

const SMALL_RUNS = 10

interface BenchLake {
  readonly name: 'small' | 'large'
  readonly source: string
  readonly warehouse: string
  readonly lake: string
  readonly scratch: string
  readonly env: NodeJS.ProcessEnv
  readonly runs: number
}

export async function benchHistory(options: HistoryBenchOptions): Promise<HistoryBenchResult> {
  const { server, say } = options
  const until = historyEndBeforeTradingDay(new Date())
  const template = await server.createDatabase('bench_history_template', { replace: true })
  await withClient(template, (client) => generateTotesys(client, { scale: options.scale, until, seed: options.seed }))
  const lakes: BenchLake[] = []
  for (const name of ['small', 'large'] as const) {
    const sourceName = `bench_history_source_${name}`
    await withClient(server.url('postgres'), async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(sourceName)}`)
      await client.query(`CREATE DATABASE ${quoteIdent(sourceName)} TEMPLATE bench_history_template`)
    })
    const source = server.url(sourceName)
    const warehouse = await server.createDatabase(`bench_history_warehouse_${name}`, { replace: true })
    const lake = join(options.workDir, name)
    const scratch = join(options.workDir, `${name}-scratch`)
    await mkdir(scratch, { recursive: true })
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      STARLINE_SOURCE_URL: source,
      STARLINE_WAREHOUSE_URL: warehouse,
      STARLINE_INGESTION_URL: pathToFileURL(join(lake, 'ingestion')).href,
      STARLINE_PROCESSED_URL: pathToFileURL(join(lake, 'processed')).href,
      STARLINE_SCRATCH_DIR: scratch,
      STARLINE_EXTRACT_LAG: '0ms',
      STARLINE_LOG_LEVEL: 'warn',
    }
    lakes.push({ name, source, warehouse, lake, scratch, env, runs: name === 'small' ? SMALL_RUNS : options.earlierRuns })
  }
  const cycle = async (lake: BenchLake, label: string): Promise<CycleFigure> => {
    // BENCH_HISTORY_CPU_PROF=<dir>: a CPU profile of every cycle, named by lake and cycle.
    const profile = process.env.BENCH_HISTORY_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HISTORY_CPU_PROF}`, `--cpu-prof-name=${lake.name}-${label.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`] : []
    const m = await measure(process.execPath, [...profile, options.starlineBin, 'run', '--json'], { env: lake.env, scratchDir: lake.scratch, label: `history ${lake.name}: ${label}` })
    const summary = JSON.parse(m.stdout) as { transform?: { rows?: number }; load?: { rows?: number } }
    const figure = { wallMs: m.wallMs, ...(m.cpuMs === undefined ? {} : { cpuMs: m.cpuMs }), rows: summary.load?.rows ?? 0 }
    say(`history: ${lake.name.padEnd(5)} (${lake.runs.toLocaleString('en-GB')} earlier runs) ${label.padEnd(14)} ${(m.wallMs / 1000).toFixed(2)} s wall, ${m.cpuMs === undefined ? 'n/a' : `${(m.cpuMs / 1000).toFixed(2)} s`} CPU, ${figure.rows} rows loaded`)
    return figure
  }
  const simulateDay = (lake: BenchLake, seed: number) => withClient(lake.source, (client) => simulateActivity(client, { days: 1, seed }))

  let growMs = 0
  const first = new Map<string, CycleFigure>()
  for (const lake of lakes) {
    await cycle(lake, 'first full run')
    const started = performance.now()
    const ingestion = new FsObjectStore(pathToFileURL(join(lake.lake, 'ingestion')).href)
    const processed = new FsObjectStore(pathToFileURL(join(lake.lake, 'processed')).href)
    await growLake({ ingestion, processed, warehouseUrl: lake.warehouse, warehouseSchema: 'public', runs: lake.runs - 1 })
    const ms = performance.now() - started
    if (lake.name === 'large') growMs = ms
    say(`history: ${lake.name} lake grown to ${lake.runs.toLocaleString('en-GB')} runs in ${(ms / 1000).toFixed(1)} s`)
    await simulateDay(lake, options.seed)
    first.set(lake.name, await cycle(lake, 'first cycle'))
  }
  const changed = new Map<string, CycleFigure[]>([['small', []], ['large', []]])
  const idle = new Map<string, CycleFigure[]>([['small', []], ['large', []]])
  for (let repeat = 1; repeat <= options.repeats; repeat++) {
    // Alternate which lake goes first, so a drift in the machine's load does not favour one.
    const order = repeat % 2 === 0 ? [...lakes].reverse() : lakes
    for (const lake of order) {
      await simulateDay(lake, options.seed + repeat)
      changed.get(lake.name)!.push(await cycle(lake, 'one day'))
      idle.get(lake.name)!.push(await cycle(lake, 'idle'))
    }
  }
  const figures = (name: 'small' | 'large'): LakeFigures => ({
    earlierRuns: lakes.find((l) => l.name === name)!.runs,
    firstCycle: first.get(name)!,
    changed: changed.get(name)!,
    idle: idle.get(name)!,
  })
  return { scale: options.scale, growMs, small: figures('small'), large: figures('large') }
}

/** The median of a cycle figure (CPU time when measured: the machine is shared; else wall time). */
function median(figures: readonly CycleFigure[], pick: (f: CycleFigure) => number | undefined): number | undefined {
  const values = figures.map(pick).filter((v): v is number => v !== undefined).sort((a, b) => a - b)
  return values.length === 0 ? undefined : values[Math.floor(values.length / 2)]
}

/** The target as `npm run bench` reports it: the large lake's cycle within 20% of the small one's. */
export function judgeHistory(result: HistoryBenchResult): TargetCheck[] {
  const checks: TargetCheck[] = []
  for (const [kind, pickFigures] of [
    ['one simulated day', (l: LakeFigures) => l.changed],
    ['idle', (l: LakeFigures) => l.idle],
  ] as const) {
    const cpu = [median(pickFigures(result.small), (f) => f.cpuMs), median(pickFigures(result.large), (f) => f.cpuMs)]
    const wall = [median(pickFigures(result.small), (f) => f.wallMs) ?? 0, median(pickFigures(result.large), (f) => f.wallMs) ?? 0] as const
    const [small, large, what] = cpu[0] !== undefined && cpu[1] !== undefined ? [cpu[0], cpu[1], 'CPU'] : [wall[0]!, wall[1]!, 'wall']
    const ratio = large / small
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    checks.push({
      target: `cycle (${kind}) after ${result.large.earlierRuns.toLocaleString('en-GB')} earlier runs within 20% of after ${result.small.earlierRuns}`,
      scale: result.scale,
      figure: `x${ratio.toFixed(2)} (${what} ${s(large)} vs ${s(small)}; wall ${s(wall[1])} vs ${s(wall[0])}; first cycle building the state: ${s(result.large.firstCycle.wallMs)})`,
      status: ratio <= 1.2 ? 'met' : 'missed',
      ...(ratio <= 1.2 ? {} : { limits: 'profile `starline run` on the large lake (node --cpu-prof) to see what still grows with history' }),
    })
  }
  return checks
}

function setting(name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name}=${value} is not a positive number`)
  return parsed
}

async function main(): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const workDir = await mkdtemp(join(tmpdir(), 'starline-history-bench-'))
  let server: EmbeddedPostgresServer | undefined
  try {
    server = await startEmbeddedPostgres()
    const result = await benchHistory({
      server,
      starlineBin: fileURLToPath(new URL('../bin/starline.js', import.meta.url)),
      workDir,
      earlierRuns: setting('BENCH_HISTORY_RUNS', 10_000),
      scale: setting('BENCH_HISTORY_SCALE', 1),
      repeats: setting('BENCH_HISTORY_REPEATS', 3),
      seed: setting('BENCH_SEED', 1),
      say,
    })
    const checks = judgeHistory(result)
    for (const check of checks) say(`${check.status.padEnd(6)} ${check.target}: ${check.figure}`)
    return checks.every((c) => c.status === 'met') ? 0 : 1
  } finally {
    killLiveChildren()
    await server?.stop().catch(() => {})
    await rm(workDir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench:history: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(1)
    },
  )
}
