/**
 * The bench's figures (what results.json holds) and the issue's targets,
 * judged from them. Targets are measured, never asserted: a missed target is
 * reported with the figure and what limits it.
 */
import type { LoadBaseline, BaselineFigure } from './psql-baseline.js'
import type { StageProfile } from './stage-profile.js'

export const SCENARIOS = {
  full: '(a) first full run',
  'no-change': '(b) incremental, no change',
  'one-day': '(c) incremental, one simulated day',
} as const
export type Scenario = keyof typeof SCENARIOS

export type Stage = 'extract' | 'transform' | 'load' | 'run'

export interface StageFigure {
  readonly scenario: Scenario
  readonly stage: Stage
  /** Rows the stage's --json summary reports (extract: source rows; transform: star rows written; load: star rows loaded; run: source rows extracted). */
  readonly rows: number
  /** Spawn to exit of `node bin/starline.js <stage> --json`: process start-up included. */
  readonly wallMs: number
  /** The stage's own durationMs (inside the process, after start-up). */
  readonly stageMs: number
  readonly peakRssBytes: number | undefined
  /** User + system CPU of the stage process (all threads), when GNU time measured it. */
  readonly cpuMs?: number
  /** CPU the bench's PostgreSQL server (source and warehouse) spent meanwhile, all its processes. */
  readonly serverCpuMs?: number
  /** CPU others used on the machine meanwhile, in cores (see cpu-meter.ts): above ~0.2 the figure is disturbed. */
  readonly othersCores?: number
  /** extract: CSV bytes written to the lake. */
  readonly bytes?: number
  /** Anything odd the summary says: rows quarantined or held, a recovered run. */
  readonly notes?: readonly string[]
}

export interface ScaleResult {
  readonly scale: number
  readonly sourceRows: Readonly<Record<string, number>>
  readonly sourceRowsTotal: number
  readonly generateMs: number
  readonly historyUntil: string
  /** What the simulated day added (in the bench process, untimed as starline). */
  readonly simulatedDay: Readonly<Record<string, number | string>>
  readonly stages: readonly StageFigure[]
  readonly baseline:
    | { readonly extract: BaselineFigure; readonly load: LoadBaseline; readonly loadTables: readonly string[] }
    | { readonly skipped: string }
  /** Untimed replays of the first full extract and load with every statement timed (BENCH_PROFILE=0 skips them). */
  readonly profiles?: readonly StageProfile[]
  /** CPU others used on the machine during the psql baseline, in cores. */
  readonly baselineOthersCores?: number
  /** Problems with the measurement itself (row counts that disagree, a busy machine, etc.). */
  readonly warnings: readonly string[]
}

export interface BenchResults {
  readonly formatVersion: 1
  readonly date: string
  readonly durationMs: number
  readonly machine: Readonly<Record<string, string | number>>
  readonly versions: Readonly<Record<string, string>>
  readonly settings: Readonly<Record<string, string>>
  readonly rssMethod: string
  /** `node bin/starline.js --version`: the start-up every stage process pays before it works. */
  readonly processStartMs: number
  readonly scales: readonly ScaleResult[]
  readonly targets: readonly TargetCheck[]
}

export interface TargetCheck {
  readonly target: string
  readonly scale: number | 'all'
  readonly figure: string
  readonly status: 'met' | 'missed' | 'not measured'
  /** For a missed target: what the figures say limits it. */
  readonly limits?: string
}

export const STAGES_OF_A_CYCLE = ['extract', 'transform', 'load'] as const

export function stageFigure(result: ScaleResult, scenario: Scenario, stage: Stage): StageFigure | undefined {
  return result.stages.find((s) => s.scenario === scenario && s.stage === stage)
}

/** The three stage processes of a scenario, summed (wall, stage time) and maxed (peak RSS). */
export function scenarioTotal(result: ScaleResult, scenario: Scenario): { rows: number; wallMs: number; stageMs: number; peakRssBytes: number | undefined } | undefined {
  const stages = STAGES_OF_A_CYCLE.map((stage) => stageFigure(result, scenario, stage))
  if (stages.some((s) => s === undefined)) return undefined
  const all = stages as StageFigure[]
  const peaks = all.map((s) => s.peakRssBytes).filter((p): p is number => p !== undefined)
  return {
    rows: all[0]!.rows,
    wallMs: all.reduce((sum, s) => sum + s.wallMs, 0),
    stageMs: all.reduce((sum, s) => sum + s.stageMs, 0),
    peakRssBytes: peaks.length > 0 ? Math.max(...peaks) : undefined,
  }
}

export function rowsPerSecond(rows: number, ms: number): number {
  return ms > 0 ? (rows * 1000) / ms : 0
}

/** starline's throughput over psql's for a stage of the first full run, or undefined without a baseline. */
export function baselineRatio(result: ScaleResult, stage: 'extract' | 'load'): { starline: number; psql: number; ratio: number } | undefined {
  if ('skipped' in result.baseline) return undefined
  const figure = stageFigure(result, 'full', stage)
  if (!figure) return undefined
  const base = stage === 'extract' ? result.baseline.extract : result.baseline.load.bare
  const starline = rowsPerSecond(figure.rows, figure.wallMs)
  const psql = rowsPerSecond(base.rows, base.wallMs)
  return { starline, psql, ratio: psql > 0 ? starline / psql : 0 }
}

const MB = 1024 ** 2
/** Issue 11's figures: each target below names the one it judges. */
export const TARGETS = {
  fullRunScale100Ms: 20_000,
  fullRunVsPsqlExportAtScale10: 3,
  extractRatio: 0.9,
  loadRatio: 0.8,
  peakBytes: 512 * MB,
  /** "Flat": the largest scale's peak at most this many times scale 10's. */
  flatFactor: 1.25,
  idleRunMs: 300,
  oneDayMs: 1_000,
} as const

export function judgeTargets(scales: readonly ScaleResult[], processStartMs: number, cores: number): TargetCheck[] {
  const checks: TargetCheck[] = []
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${Math.round(bytes / MB)} MB`)
  const startUp = (n: number) => `${n} process start-ups of ~${s(processStartMs)} each (node + module load, measured with \`starline --version\`)`
  const judged = (met: boolean, limits: () => string) => ({ status: met ? ('met' as const) : ('missed' as const), ...(met ? {} : { limits: limits() }) })

  // The ratios are judged where the data is large enough for throughput to mean something (scale >= 10).
  for (const [stage, name, minimum, fromScale] of [
    ['extract', `extract >= ${pct(TARGETS.extractRatio)} of psql \\copy TO throughput`, TARGETS.extractRatio, 10],
    ['load', `load >= ${pct(TARGETS.loadRatio)} of psql \\copy FROM throughput (bare tables)`, TARGETS.loadRatio, 100],
  ] as const) {
    for (const result of scales.filter((r) => r.scale >= fromScale)) {
      const ratio = baselineRatio(result, stage)
      const figure = stageFigure(result, 'full', stage)
      if (!ratio || !figure) {
        checks.push({ target: name, scale: result.scale, figure: 'no baseline', status: 'not measured' })
        continue
      }
      checks.push({
        target: name,
        scale: result.scale,
        figure: `${pct(ratio.ratio)} (${fmtRate(ratio.starline)} vs ${fmtRate(ratio.psql)} rows/s)`,
        ...judged(ratio.ratio >= minimum, () => stageLimits(result, stage, figure, processStartMs)),
      })
    }
    if (!scales.some((r) => r.scale >= fromScale)) checks.push({ target: name, scale: fromScale, figure: `no scale >= ${fromScale} run`, status: 'not measured' })
  }

  const at100 = scales.find((r) => r.scale === 100)
  const full100 = at100 && scenarioTotal(at100, 'full')
  const fullName = `first full run at scale 100 < ${s(TARGETS.fullRunScale100Ms)} (on ${cores} cores)`
  if (at100 && full100) {
    checks.push({
      target: fullName,
      scale: 100,
      figure: s(full100.wallMs),
      ...judged(full100.wallMs < TARGETS.fullRunScale100Ms, () => [breakdown(at100, 'full'), cpuFloor(at100, 'full', cores)].filter(Boolean).join('; ')),
    })
  } else {
    checks.push({ target: fullName, scale: 100, figure: 'scale 100 not run', status: 'not measured' })
  }
  const at10 = scales.find((r) => r.scale === 10)
  const full10 = at10 && scenarioTotal(at10, 'full')
  const exportName = `first full run at scale 10 within ${TARGETS.fullRunVsPsqlExportAtScale10}x of the psql export`
  if (at10 && full10 && !('skipped' in at10.baseline)) {
    const factor = full10.wallMs / at10.baseline.extract.wallMs
    checks.push({
      target: exportName,
      scale: 10,
      figure: `${s(full10.wallMs)} vs ${s(at10.baseline.extract.wallMs)} (x${factor.toFixed(1)})`,
      ...judged(factor <= TARGETS.fullRunVsPsqlExportAtScale10, () => `${breakdown(at10, 'full')}; of which ${startUp(3)}`),
    })
  } else {
    checks.push({ target: exportName, scale: 10, figure: 'scale 10 or its baseline not run', status: 'not measured' })
  }

  const peakOf = (r: ScaleResult) => {
    const peaks = r.stages.map((f) => f.peakRssBytes).filter((p): p is number => p !== undefined)
    return peaks.length > 0 ? Math.max(...peaks) : undefined
  }
  for (const result of scales) {
    const peak = peakOf(result)
    const worst = [...result.stages].sort((a, b) => (b.peakRssBytes ?? 0) - (a.peakRssBytes ?? 0))[0]
    const where = worst ? `${SCENARIOS[worst.scenario]}, ${worst.stage}` : ''
    checks.push({
      target: `peak memory < ${mb(TARGETS.peakBytes)}`,
      scale: result.scale,
      figure: `${mb(peak)} (${where})`,
      ...(peak === undefined ? { status: 'not measured' as const } : judged(peak < TARGETS.peakBytes, () => `the largest process is ${where}`)),
    })
  }

  // From scale 10 up: at scale 1, Node's and DuckDB's own ~110 MB hide any growth.
  const ordered = [...scales].sort((a, b) => a.scale - b.scale)
  const base = ordered.find((r) => r.scale === 10)
  const top = ordered.at(-1)
  if (base && top && top.scale > base.scale) {
    const low = peakOf(base)
    const high = peakOf(top)
    const factor = low && high ? high / low : undefined
    checks.push({
      target: `peak memory flat from scale 10 up (scale ${top.scale} <= ${TARGETS.flatFactor}x scale 10)`,
      scale: 'all',
      figure: `${ordered.map((r) => `${r.scale}: ${mb(peakOf(r))}`).join(', ')}${factor ? ` (x${factor.toFixed(2)})` : ''}`,
      ...(factor === undefined ? { status: 'not measured' as const } : judged(factor <= TARGETS.flatFactor, () => memoryLimits(ordered))),
    })
  } else {
    checks.push({ target: 'peak memory flat from scale 10 up', scale: 'all', figure: 'needs scale 10 and a larger one', status: 'not measured' })
  }

  for (const result of scales) {
    const run = stageFigure(result, 'no-change', 'run')
    checks.push({
      target: `idle cycle < ${s(TARGETS.idleRunMs)} as one \`starline run\``,
      scale: result.scale,
      figure: run ? s(run.wallMs) : 'not run',
      ...(run ? judged(run.wallMs < TARGETS.idleRunMs, () => `in-stage ${s(run.stageMs)}; of which ${startUp(1)}`) : { status: 'not measured' as const }),
    })
  }
  for (const result of scales) {
    const run = stageFigure(result, 'one-day', 'run')
    checks.push({
      target: `one simulated day < ${s(TARGETS.oneDayMs)} as one \`starline run\``,
      scale: result.scale,
      figure: run ? s(run.wallMs) : 'not run',
      // The next day as three stage processes is the profile: where a cycle's time goes, stage by stage.
      ...(run
        ? judged(run.wallMs < TARGETS.oneDayMs, () => `in-stage ${s(run.stageMs)}; of which ${startUp(1)}; the next day as 3 stage processes: ${breakdown(result, 'one-day')}`)
        : { status: 'not measured' as const }),
    })
  }
  return checks
}

function stageLimits(result: ScaleResult, stage: 'extract' | 'load', figure: StageFigure, processStartMs: number): string {
  const inside = rowsPerSecond(figure.rows, figure.stageMs)
  const base = 'skipped' in result.baseline ? undefined : stage === 'extract' ? result.baseline.extract : result.baseline.load.bare
  const parts = [
    `wall ${(figure.wallMs / 1000).toFixed(2)} s = start-up ~${(processStartMs / 1000).toFixed(2)} s + the stage's own ${(figure.stageMs / 1000).toFixed(2)} s (${fmtRate(inside)} rows/s${base ? `, ${pct(inside / rowsPerSecond(base.rows, base.wallMs))} of psql` : ''})`,
  ]
  const profile = result.profiles?.find((p) => p.stage === stage)
  if (profile) parts.push(`its time (profiled replay): ${profileParts(profile, 4).map((p) => `${pct(p.share)} ${p.label}`).join('; ')}`)
  if (stage === 'extract' && base && figure.bytes) parts.push(`CSV bytes ${(figure.bytes / 1e6).toFixed(1)} MB vs psql ${(base.bytes / 1e6).toFixed(1)} MB`)
  if (stage === 'load' && !('skipped' in result.baseline)) {
    const indexed = result.baseline.load.indexed
    parts.push(`psql into tables with the same keys and indexes: ${fmtRate(rowsPerSecond(indexed.rows, indexed.wallMs))} rows/s`)
  }
  return parts.join('; ')
}

export const OUTSIDE_STATEMENTS = 'outside PostgreSQL statements (JavaScript, DuckDB, files)'

/** A profile's largest parts, then the rest of the statements, then the time outside statements; shares of the stage's time. */
export function profileParts(profile: StageProfile, top: number): { label: string; ms: number; count: number; share: number }[] {
  const total = Math.max(profile.stageMs, profile.statementsMs)
  const share = (ms: number) => (total > 0 ? ms / total : 0)
  const outside = Math.max(0, profile.stageMs - profile.statementsMs)
  const label = (g: StageProfile['groups'][number]) => {
    const tables = g.tables.slice(0, 3).map((t) => `${t.table} ${(t.ms / 1000).toFixed(2)} s`)
    return tables.length > 0 ? `${g.kind} (${tables.join(', ')}${g.tables.length > 3 ? ', ...' : ''})` : g.kind
  }
  const parts = [...profile.groups.map((g) => ({ label: label(g), ms: g.ms, count: g.count })), { label: OUTSIDE_STATEMENTS, ms: outside, count: 0 }].sort(
    (a, b) => b.ms - a.ms,
  )
  const shown = parts.slice(0, top)
  const rest = parts.slice(top)
  if (rest.length > 0) shown.push({ label: `${rest.length} other kinds of statement`, ms: rest.reduce((n, p) => n + p.ms, 0), count: rest.reduce((n, p) => n + p.count, 0) })
  return shown.map((p) => ({ ...p, share: share(p.ms) }))
}

function breakdown(result: ScaleResult, scenario: Scenario): string {
  return STAGES_OF_A_CYCLE.map((stage) => {
    const f = stageFigure(result, scenario, stage)
    return f ? `${stage} ${(f.wallMs / 1000).toFixed(2)} s (in-stage ${(f.stageMs / 1000).toFixed(2)} s)` : `${stage} n/a`
  }).join(', ')
}

/**
 * The CPU a scenario's stages took, starline's processes and the PostgreSQL server together, over the
 * machine's cores: no overlap of those stages could finish sooner than that (empty when not measured).
 */
function cpuFloor(result: ScaleResult, scenario: Scenario, cores: number): string {
  const figures = STAGES_OF_A_CYCLE.map((stage) => stageFigure(result, scenario, stage))
  if (figures.some((f) => f?.cpuMs === undefined || f.serverCpuMs === undefined)) return ''
  const client = figures.reduce((n, f) => n + f!.cpuMs!, 0)
  const server = figures.reduce((n, f) => n + f!.serverCpuMs!, 0)
  const perStage = STAGES_OF_A_CYCLE.map((stage, i) => `${stage} ${((figures[i]!.cpuMs! + figures[i]!.serverCpuMs!) / 1000).toFixed(1)} s`).join(', ')
  return (
    `CPU: starline ${(client / 1000).toFixed(1)} s + PostgreSQL ${(server / 1000).toFixed(1)} s = ${((client + server) / 1000).toFixed(1)} s (${perStage}); ` +
    `on ${cores} cores no overlap of the stages finishes under ${((client + server) / cores / 1000).toFixed(1)} s`
  )
}

function memoryLimits(ordered: readonly ScaleResult[]): string {
  const peak = (r: ScaleResult, stage: Stage) => {
    const f = stageFigure(r, 'full', stage)
    return f?.peakRssBytes === undefined ? 'n/a' : `${Math.round(f.peakRssBytes / 1024 ** 2)}`
  }
  const perStage = STAGES_OF_A_CYCLE.map((stage) => `${stage} ${ordered.map((r) => peak(r, stage)).join(' -> ')} MB`).join('; ')
  return `first full run's peak RSS by stage over scales ${ordered.map((r) => r.scale).join(', ')}: ${perStage}; transform and load run DuckDB in process, capped by STARLINE_DUCKDB_MEMORY (256MB by default; the DuckDB warehouse STARLINE_WAREHOUSE_DUCKDB_MEMORY) plus what lies outside its buffer manager`
}

export function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`
}

export function fmtRate(rowsPerSec: number): string {
  return Math.round(rowsPerSec).toLocaleString('en-GB')
}
