/**
 * One scale of the bench: a fresh source and warehouse database and a fresh
 * lake; the three scenarios, each stage a separate `starline` process; the
 * psql baseline on the same data and server.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type pg from 'pg'
import { generateTotesys } from '../src/datasets/totesys/generator.js'
import { simulateActivity } from '../src/datasets/totesys/simulator.js'
import { TOTESYS_TABLES } from '../src/datasets/totesys/source-tables.js'
import { TOTESYS } from '../src/datasets/totesys/totesys-dataset.js'
import type { ExtractSummary, LoadSummary, RunSummary, TransformSummary } from '../src/schema/summaries.js'
import type { EmbeddedPostgresServer } from '../src/runtime/embedded-postgres-server.js'
import { qualify, quoteIdent } from '../src/sql/quote.js'
import { otherCores, type CpuMeter } from './cpu-meter.js'
import { measure } from './measure.js'
import { profileStage, type StageProfile } from './stage-profile.js'
import { extractBaseline, loadBaseline, withClient, type Psql, type SourceTableColumns } from './psql-baseline.js'
import type { Scenario, ScaleResult, Stage, StageFigure } from './results.js'

export interface ScaleOptions {
  readonly server: EmbeddedPostgresServer
  readonly scale: number
  /** History ends just before this instant (a Tuesday, so the simulated day trades). */
  readonly until: Date
  readonly seed: number
  /** A directory of this scale's own, removed afterwards by the caller. */
  readonly workDir: string
  readonly starlineBin: string
  readonly psql: Psql | undefined
  readonly stageTimeoutMs: number
  /** Extra STARLINE_* settings for every stage process. */
  readonly env: Readonly<Record<string, string>>
  readonly say: (line: string) => void
  readonly cpu: CpuMeter
  /** Replay the first full extract and load with every statement timed. */
  readonly profile: boolean
  /** Time the psql extract and bare load this many times; the fastest counts. */
  readonly baselineRuns: number
  /** Resolves once the machine is idle (or the wait is over); called before each measured part. */
  readonly waitForIdle: () => Promise<void>
}

/** Others using more than this share of a core during a measurement make its figure suspect. */
const BUSY_CORES = 0.2
/** Below this much CPU in all, "others" is tick noise (/proc/stat counts in 10 ms ticks per core). */
const BUSY_MIN_CPU_MS = 150

function isBusy(othersCores: number, elapsedMs: number): boolean {
  return othersCores > BUSY_CORES && othersCores * elapsedMs > BUSY_MIN_CPU_MS
}

const SOURCE_SCHEMA = 'public'
const WAREHOUSE_SCHEMA = 'public'

export async function benchScale(options: ScaleOptions): Promise<ScaleResult> {
  const { server, scale, say } = options
  const tag = String(scale).replace(/[^0-9a-z]/gi, '_')
  const sourceUrl = await server.createDatabase(`bench_source_${tag}`, { replace: true })
  const warehouseUrl = await server.createDatabase(`bench_warehouse_${tag}`, { replace: true })
  const lake = join(options.workDir, 'lake')
  const scratch = join(options.workDir, 'scratch')
  const baselineDir = join(options.workDir, 'baseline')
  for (const dir of [lake, scratch, baselineDir]) await mkdir(dir, { recursive: true })
  const warnings: string[] = []

  say(`scale ${scale}: generating the ToteSys source ...`)
  const generateStarted = performance.now()
  const generated = await withClient(sourceUrl, (client) => generateTotesys(client, { scale, until: options.until, seed: options.seed }))
  const generateMs = performance.now() - generateStarted
  // A maintained OLTP database has hint bits set and statistics: without this the first reader (starline or psql) pays for them.
  await withClient(sourceUrl, (client) => client.query('VACUUM (ANALYZE)'))
  const sourceRowsTotal = Object.values(generated.rows).reduce((a, b) => a + b, 0)
  say(`scale ${scale}: ${sourceRowsTotal.toLocaleString('en-GB')} source rows in ${(generateMs / 1000).toFixed(1)} s`)

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STARLINE_SOURCE_URL: sourceUrl,
    STARLINE_WAREHOUSE_URL: warehouseUrl,
    STARLINE_INGESTION_URL: pathToFileURL(join(lake, 'ingestion')).href,
    STARLINE_PROCESSED_URL: pathToFileURL(join(lake, 'processed')).href,
    STARLINE_SCRATCH_DIR: scratch,
    STARLINE_EXTRACT_LAG: '0ms',
    STARLINE_LOG_LEVEL: 'warn',
    ...options.env,
  }
  const stages: StageFigure[] = []
  const runStage = async (scenario: Scenario, stage: Stage): Promise<StageFigure> => {
    const before = await options.cpu.snapshot()
    const m = await measure(process.execPath, [options.starlineBin, stage, '--json'], {
      env,
      timeoutMs: options.stageTimeoutMs,
      scratchDir: scratch,
      label: `scale ${scale}, ${scenario}: starline ${stage}`,
    })
    const after = await options.cpu.snapshot()
    const othersCores = options.cpu.available && m.cpuMs !== undefined ? otherCores(before, after, m.cpuMs) : undefined
    const figure: StageFigure = {
      ...summarise(stage, parseSummary(m.stdout, stage)),
      scenario,
      stage,
      wallMs: m.wallMs,
      peakRssBytes: m.peakRssBytes,
      ...(m.cpuMs === undefined ? {} : { cpuMs: m.cpuMs }),
      ...(options.cpu.available ? { serverCpuMs: after.serverMs - before.serverMs } : {}),
      ...(othersCores === undefined ? {} : { othersCores }),
    }
    stages.push(figure)
    if (othersCores !== undefined && isBusy(othersCores, after.at - before.at)) {
      warnings.push(`other processes used ${othersCores.toFixed(2)} cores during ${scenario} ${stage}: its figures are slowed down`)
    }
    const rss = m.peakRssBytes === undefined ? 'n/a' : `${Math.round(m.peakRssBytes / 1024 ** 2)} MB`
    say(`scale ${scale}: ${scenario.padEnd(9)} ${stage.padEnd(9)} ${figure.rows.toLocaleString('en-GB').padStart(10)} rows  ${(m.wallMs / 1000).toFixed(2).padStart(7)} s  ${rss.padStart(7)}`)
    return figure
  }

  // (a) the first full run
  await options.waitForIdle()
  const fullExtract = await runStage('full', 'extract')
  await runStage('full', 'transform')
  const fullLoad = await runStage('full', 'load')
  if (fullExtract.rows !== sourceRowsTotal) {
    warnings.push(`the first extract took ${fullExtract.rows} rows of ${sourceRowsTotal} in the source`)
  }

  // The baseline, on the same data, right after the first run (the warehouse holds exactly what it loaded).
  let baseline: ScaleResult['baseline']
  let baselineOthersCores: number | undefined
  if (options.psql) {
    const before = await options.cpu.snapshot()
    say(`scale ${scale}: psql baseline ...`)
    const columns = await sourceColumns(sourceUrl)
    const extract = await extractBaseline(options.psql, sourceUrl, SOURCE_SCHEMA, columns, baselineDir, options.stageTimeoutMs, options.baselineRuns, options.waitForIdle)
    await rm(baselineDir, { recursive: true, force: true })
    await mkdir(baselineDir)
    const loadTables = await nonEmptyStarTables(warehouseUrl)
    const load = await loadBaseline(options.psql, warehouseUrl, WAREHOUSE_SCHEMA, loadTables, baselineDir, options.stageTimeoutMs, options.baselineRuns, options.waitForIdle)
    await rm(baselineDir, { recursive: true, force: true })
    baseline = { extract, load, loadTables }
    const after = await options.cpu.snapshot()
    const psqlCpu = [extract.attemptsCpuMs, load.bare.attemptsCpuMs, load.indexed.attemptsCpuMs, load.exportCpuMs]
    if (options.cpu.available && psqlCpu.every((c) => c !== undefined)) {
      baselineOthersCores = otherCores(before, after, psqlCpu.reduce((a, b) => a! + b!, 0)!)
      if (isBusy(baselineOthersCores, after.at - before.at)) warnings.push(`other processes used ${baselineOthersCores.toFixed(2)} cores during the psql baseline`)
    }
    if (extract.rows !== fullExtract.rows) warnings.push(`psql extracted ${extract.rows} rows, starline ${fullExtract.rows}`)
    if (load.bare.rows !== fullLoad.rows) warnings.push(`psql loaded ${load.bare.rows} rows, starline ${fullLoad.rows} (held facts or dim_date may differ)`)
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    say(`scale ${scale}: psql \\copy TO ${extract.rows.toLocaleString('en-GB')} rows ${s(extract.wallMs)}; \\copy FROM ${load.bare.rows.toLocaleString('en-GB')} rows ${s(load.bare.wallMs)} (bare), ${s(load.indexed.wallMs)} (indexed)`)
  } else {
    baseline = { skipped: 'psql was not found (set BENCH_PSQL to its path): no baseline, no ratios.' }
    say(`scale ${scale}: ${baseline.skipped}`)
  }

  // Untimed: where the first full run's extract and load spend their time (the lake holds run (a) only).
  let profiles: StageProfile[] | undefined
  if (options.profile) {
    say(`scale ${scale}: profiling replays of the first extract and load ...`)
    const profileLake = join(options.workDir, 'profile-lake')
    const profileWarehouse = `bench_profile_${tag}`
    const common = { starlineBin: options.starlineBin, scratchDir: scratch, timeoutMs: options.stageTimeoutMs }
    const extract = await profileStage('extract', {
      ...common,
      env: { ...env, STARLINE_INGESTION_URL: pathToFileURL(join(profileLake, 'ingestion')).href, STARLINE_PROCESSED_URL: pathToFileURL(join(profileLake, 'processed')).href },
    })
    await rm(profileLake, { recursive: true, force: true })
    const load = await profileStage('load', { ...common, env: { ...env, STARLINE_WAREHOUSE_URL: await server.createDatabase(profileWarehouse, { replace: true }) } })
    await dropDatabases(server, [profileWarehouse])
    profiles = [extract, load]
  }

  // (b) again at once, nothing changed: three stage processes, then one `starline run`.
  await options.waitForIdle()
  for (const stage of ['extract', 'transform', 'load', 'run'] as const) {
    const figure = await runStage('no-change', stage)
    if (figure.rows !== 0) warnings.push(`the no-change ${stage} moved ${figure.rows} rows`)
  }

  // (c) one simulated day (in this process, not timed as starline) as one `starline run` (the target), then the
  // next day as the three stage processes (the profile). Both days are in the past (a Tuesday and a Wednesday).
  const simulate = async () => {
    const simulated = await withClient(sourceUrl, (client) => simulateActivity(client, { days: 1, seed: options.seed }))
    say(`scale ${scale}: simulated ${dayOf(simulated.to)}: ${simulated.salesOrders} sales orders, ${simulated.purchaseOrders} purchase orders, ${simulated.paymentsPaid} payments paid`)
    return simulated
  }
  const day = await simulate()
  const dayRun = await runStage('one-day', 'run')
  const nextDay = await simulate()
  const dayExtract = await runStage('one-day', 'extract')
  await runStage('one-day', 'transform')
  await runStage('one-day', 'load')
  if (dayRun.rows === 0 || dayExtract.rows === 0) warnings.push('a simulated day extracted no rows: check that its day is in the past')

  // Free the disk before the next scale.
  await dropDatabases(server, [`bench_source_${tag}`, `bench_warehouse_${tag}`])
  return {
    scale,
    sourceRows: generated.rows,
    sourceRowsTotal,
    generateMs,
    historyUntil: generated.until.toISOString(),
    simulatedDay: {
      day: dayOf(day.to),
      stagesDay: dayOf(nextDay.to),
      salesOrders: day.salesOrders,
      purchaseOrders: day.purchaseOrders,
      transactions: day.transactions,
      payments: day.payments,
      paymentsPaid: day.paymentsPaid,
      newDesigns: day.newDesigns,
      silentDesignEdits: day.silentDesignEdits.length,
    },
    stages,
    baseline,
    ...(profiles ? { profiles } : {}),
    ...(baselineOthersCores === undefined ? {} : { baselineOthersCores }),
    warnings,
  }
}

async function dropDatabases(server: EmbeddedPostgresServer, names: readonly string[]): Promise<void> {
  await withClient(server.url('postgres'), async (client) => {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
  })
}

/** The simulated day that ends (exclusive) at `end`. */
function dayOf(end: Date): string {
  return new Date(end.getTime() - 1).toISOString().slice(0, 10)
}

type Summary = ExtractSummary | TransformSummary | LoadSummary | RunSummary

function parseSummary(stdout: string, stage: Stage): Summary {
  try {
    return JSON.parse(stdout) as Summary
  } catch {
    throw new Error(`starline ${stage} --json printed something that is not JSON: ${stdout.trim().slice(0, 300)}`)
  }
}

function summarise(stage: Stage, summary: Summary): Pick<StageFigure, 'rows' | 'stageMs' | 'bytes' | 'notes'> {
  const notes: string[] = []
  if (stage === 'extract' || stage === 'run') {
    const extract = stage === 'run' ? (summary as RunSummary).extract : (summary as ExtractSummary)
    if (extract.recoveredRunId) notes.push(`recovered run ${extract.recoveredRunId}`)
    const silent = (extract.reconciled ?? []).reduce((n, r) => n + r.silentEdits, 0)
    if (extract.reconciled) notes.push(`reconciled ${extract.reconciled.length} tables${silent ? `, ${silent} silent edits` : ''}`)
    return {
      rows: extract.rows,
      stageMs: stage === 'run' ? (summary as RunSummary).durationMs : extract.durationMs,
      bytes: extract.tables.reduce((n, t) => n + t.bytes, 0),
      ...(notes.length ? { notes } : {}),
    }
  }
  if (stage === 'transform') {
    const t = summary as TransformSummary
    const quarantined = t.runs.flatMap((r) => r.quarantined).reduce((n, q) => n + q.rows, 0)
    if (quarantined) notes.push(`${quarantined} rows quarantined`)
    return { rows: t.rows, stageMs: t.durationMs, ...(notes.length ? { notes } : {}) }
  }
  const l = summary as LoadSummary
  const held = l.runs.at(-1)?.tables.reduce((n, t) => n + t.held, 0) ?? 0
  if (held) notes.push(`${held} fact rows held for late dimensions`)
  return { rows: l.rows, stageMs: l.durationMs, ...(notes.length ? { notes } : {}) }
}

/** The columns starline extracts: every column of each source table, in table order. */
async function sourceColumns(url: string): Promise<SourceTableColumns[]> {
  return withClient(url, async (client) => {
    const result = await client.query<{ table_name: string; columns: string[] }>(
      `SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2) GROUP BY table_name`,
      [SOURCE_SCHEMA, [...TOTESYS_TABLES]],
    )
    const byTable = new Map(result.rows.map((r) => [r.table_name, r.columns]))
    return TOTESYS_TABLES.map((table) => ({ table, columns: byTable.get(table) ?? [] }))
  })
}

/** The dataset's warehouse tables that hold rows, in the order they are loaded (dimensions first). */
async function nonEmptyStarTables(url: string): Promise<string[]> {
  const names = [...TOTESYS.models.map((m) => m.table)].sort((a, b) => Number(a.kind === 'fact') - Number(b.kind === 'fact')).map((t) => t.name)
  return withClient(url, async (client: pg.Client) => {
    const tables: string[] = []
    for (const name of names) {
      const any = await client.query(`SELECT 1 FROM ${qualify(WAREHOUSE_SCHEMA, name)} LIMIT 1`)
      if (any.rowCount) tables.push(name)
    }
    return tables
  })
}
