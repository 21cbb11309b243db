/**
 * `npm run bench`: measures starline against the physical limit (psql \copy)
 * at several scales of the ToteSys source, and writes bench/RESULTS.md and
 * bench/results.json. See the targets in results.ts.
 *
 * Settings (environment):
 *   BENCH_SCALES            comma-separated scales, default 1,10,100
 *   BENCH_SEED              generator and simulator seed, default 1
 *   BENCH_STAGE_TIMEOUT_S   kill a stage (or psql) process after this long, default 600
 *   BENCH_TIMEOUT_S         give up on the whole bench after this long, default 3600
 *   BENCH_OUT_DIR           where RESULTS.md and results.json go, default bench/
 *   BENCH_KEEP_WORKDIR=1    keep the lake and scratch files (the path is printed)
 *   BENCH_BASELINE_RUNS     time the psql extract and bare load this many times, the fastest counts; default 2
 *   BENCH_IDLE_WAIT_S       before each measured part, wait for other processes to go quiet, up to this long over the
 *                           whole bench; default 300, 0 = never
 *   BENCH_PROFILE=0         skip the untimed replays of the first extract and load with every statement timed
 *   BENCH_PSQL              psql to use, default /usr/bin/psql or psql on the PATH
 *   BENCH_HISTORY_RUNS      earlier runs of the history bench's large lake (bench/history-bench.ts), default 10000; 0 skips it
 *   STARLINE_*              passed on to every stage (e.g. STARLINE_DUCKDB_MEMORY), except the
 *                           URLs, scratch dir, lag and log level, which the bench sets
 */
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { historyEndBeforeTradingDay } from '../src/datasets/totesys/history-end.js'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from '../src/runtime/embedded-postgres-server.js'
import { benchScale } from './bench-scale.js'
import { CpuMeter, otherCores } from './cpu-meter.js'
import { busyCores, machineInfo, versions } from './machine-info.js'
import { hasGnuTime, killLiveChildren, measure } from './measure.js'
import { findPsql, withClient } from './psql-baseline.js'
import { judgeTargets, type BenchResults, type ScaleResult, type TargetCheck } from './results.js'
import { benchHistory, judgeHistory } from './history-bench.js'
import { renderMarkdown, renderText } from './results-markdown.js'

const ROOT = new URL('../', import.meta.url)
/** Set by the bench for every stage; anything else STARLINE_* in the environment is passed on. */
const BENCH_SETS = ['STARLINE_SOURCE_URL', 'STARLINE_WAREHOUSE_URL', 'STARLINE_INGESTION_URL', 'STARLINE_PROCESSED_URL', 'STARLINE_SCRATCH_DIR', 'STARLINE_EXTRACT_LAG', 'STARLINE_LOG_LEVEL']

class BenchUsageError extends Error {}

const say = (line: string) => process.stdout.write(`${line}\n`)

async function main(): Promise<number> {
  const started = Date.now()
  const scales = parseScales(process.env.BENCH_SCALES ?? '1,10,100')
  const seed = integerSetting('BENCH_SEED', 1)
  const stageTimeoutMs = integerSetting('BENCH_STAGE_TIMEOUT_S', 600) * 1000
  const totalTimeoutMs = integerSetting('BENCH_TIMEOUT_S', 3600) * 1000
  const profile = process.env.BENCH_PROFILE !== '0'
  const baselineRuns = integerSetting('BENCH_BASELINE_RUNS', 2)
  const idleWait = { leftMs: integerSetting('BENCH_IDLE_WAIT_S', 300, true) * 1000 }
  const outDir = process.env.BENCH_OUT_DIR ?? fileURLToPath(new URL('bench/', ROOT))
  if (!existsSync(fileURLToPath(new URL('dist/runtime/cli/starline.js', ROOT)))) {
    throw new BenchUsageError('dist/ is missing: run `npm run bench` (which builds first) or `npm run build`.')
  }

  let server: EmbeddedPostgresServer | undefined
  const workDir = await mkdtemp(join(tmpdir(), 'starline-bench-'))
  const build = await snapshotBuild()
  const starlineBin = join(build, 'bin', 'starline.js')
  let cleaning: Promise<void> | undefined
  const cleanUp = () =>
    (cleaning ??= (async () => {
      killLiveChildren()
      await server?.stop().catch(() => {})
      await rm(build, { recursive: true, force: true }).catch(() => {})
      if (process.env.BENCH_KEEP_WORKDIR === '1') say(`bench: kept ${workDir}`)
      else await rm(workDir, { recursive: true, force: true }).catch(() => {})
    })())
  const stop = (why: string, code: number) => {
    process.stderr.write(`bench: ${why}; cleaning up\n`)
    void cleanUp().finally(() => process.exit(code))
  }
  process.once('SIGINT', () => stop('interrupted', 130))
  process.once('SIGTERM', () => stop('terminated', 143))
  const deadline = setTimeout(() => stop(`not finished after ${totalTimeoutMs / 1000} s (BENCH_TIMEOUT_S)`, 1), totalTimeoutMs)
  deadline.unref()

  const results: ScaleResult[] = []
  try {
    const machine = await machineInfo()
    const psql = await findPsql()
    if (!psql) say('bench: psql not found (set BENCH_PSQL): the baseline and ratios are skipped')
    const rssMethod = (await hasGnuTime()) ? 'gnu-time' : existsSync('/proc/self/status') ? 'proc-vmhwm' : 'none'
    const processStartMs = await medianStartUp(starlineBin, workDir)
    say(`bench: scales ${scales.join(', ')}; starline start-up ${(processStartMs / 1000).toFixed(2)} s; peak RSS via ${rssMethod}`)

    say('bench: starting an embedded PostgreSQL ...')
    server = await startEmbeddedPostgres()
    const running = server
    const serverVersion = await withClient(running.url('postgres'), async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?')
    // Now, not at the end: the commit the build snapshot was taken from.
    const versionInfo = await versions(ROOT.href, serverVersion, psql)
    const cpu = await CpuMeter.forServerOnPort(running.port)
    if (!cpu.available) say('bench: cannot find the server process in /proc: CPU used by other processes is not measured')
    const benchStart = await cpu.snapshot()
    const until = historyEndBeforeTradingDay(new Date())
    const passed = Object.fromEntries(
      Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('STARLINE_') && !BENCH_SETS.includes(e[0]) && e[1] !== undefined),
    )

    for (const scale of scales) {
      const scaleDir = await mkdtemp(join(workDir, `scale-${scale}-`))
      results.push(
        await benchScale({ server: running, scale, until, seed, workDir: scaleDir, starlineBin, psql, stageTimeoutMs, env: passed, say, cpu, profile, baselineRuns, waitForIdle: () => waitForIdle(idleWait, say) }),
      )
      await rm(scaleDir, { recursive: true, force: true })
    }

    const historyRuns = integerSetting('BENCH_HISTORY_RUNS', 10_000, true)
    let historyChecks: TargetCheck[] = []
    if (historyRuns > 0) {
      await waitForIdle(idleWait, say)
      try {
        const history = await benchHistory({ server: running, starlineBin, workDir: await mkdtemp(join(workDir, 'history-')), earlierRuns: historyRuns, scale: 1, repeats: 3, seed, say, env: passed })
        historyChecks = judgeHistory(history)
      } catch (error) {
        // The scales' figures took most of an hour: a failed history bench must not throw them away.
        const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error)
        say(`bench: the history bench failed: ${reason}`)
        historyChecks = [{ target: `cycle after ${historyRuns.toLocaleString('en-GB')} earlier runs within 20% of after 10`, scale: 1, figure: `failed: ${reason}`, status: 'not measured' }]
      }
    }

    const measuredCpuMs = results.reduce(
      (sum, r) =>
        sum +
        r.stages.reduce((n, f) => n + (f.cpuMs ?? 0), 0) +
        (r.profiles ?? []).reduce((n, p) => n + (p.cpuMs ?? 0), 0) +
        ('skipped' in r.baseline
          ? 0
          : [r.baseline.extract.attemptsCpuMs, r.baseline.load.bare.attemptsCpuMs, r.baseline.load.indexed.attemptsCpuMs, r.baseline.load.exportCpuMs].reduce(
              (n: number, c) => n + (c ?? 0),
              0,
            )),
      0,
    )
    // Generation and simulation run in the bench process and the server, so they count as the bench's own.
    const othersCores = cpu.available ? otherCores(benchStart, await cpu.snapshot(), measuredCpuMs) : undefined
    const bench: BenchResults = {
      formatVersion: 1,
      date: new Date().toISOString(),
      durationMs: Date.now() - started,
      machine: { ...machine, ...(othersCores === undefined ? {} : { othersCoresDuringBench: othersCores.toFixed(2) }) },
      versions: versionInfo,
      settings: {
        BENCH_SEED: String(seed),
        BENCH_BASELINE_RUNS: String(baselineRuns),
        historyUntil: until.toISOString().slice(0, 10),
        STARLINE_EXTRACT_LAG: '0ms',
        STARLINE_DUCKDB_MEMORY: passed.STARLINE_DUCKDB_MEMORY ?? '256MB (default)',
        STARLINE_RECONCILE_INTERVAL: passed.STARLINE_RECONCILE_INTERVAL ?? '1h (default: the first run reconciles)',
        ...Object.fromEntries(Object.entries(passed).filter(([k]) => k !== 'STARLINE_DUCKDB_MEMORY' && k !== 'STARLINE_RECONCILE_INTERVAL')),
      },
      rssMethod,
      processStartMs,
      scales: results,
      targets: [...judgeTargets(results, processStartMs, Number(machine.cores)), ...historyChecks],
    }
    await writeFile(join(outDir, 'results.json'), `${JSON.stringify(bench, null, 2)}\n`)
    await writeFile(join(outDir, 'RESULTS.md'), renderMarkdown(bench))
    say(`\n${renderText(bench)}\n\nbench: wrote ${join(outDir, 'RESULTS.md')} and results.json in ${((Date.now() - started) / 60_000).toFixed(1)} min`)
    return 0
  } catch (error) {
    if (results.length > 0) say(`bench: finished scales ${results.map((r) => r.scale).join(', ')} before the failure; nothing was written`)
    throw error
  } finally {
    clearTimeout(deadline)
    await cleanUp()
  }
}

/**
 * A private copy of the build (bin/, dist/, package.json) for the whole bench:
 * a rebuild of dist/ while the bench runs (someone's `npm test`) would
 * otherwise measure two versions in one result. It sits inside the project
 * (.starline/ is ignored by git) so that node_modules still resolves.
 */
async function snapshotBuild(): Promise<string> {
  const parent = fileURLToPath(new URL('.starline/', ROOT))
  await mkdir(parent, { recursive: true })
  const dir = await mkdtemp(join(parent, 'bench-build-'))
  for (const entry of ['bin', 'dist', 'package.json']) await cp(fileURLToPath(new URL(entry, ROOT)), join(dir, entry), { recursive: true })
  return dir
}

/** Median of three `starline --version` runs: what every stage process pays before its stage starts. */
async function medianStartUp(starlineBin: string, scratchDir: string): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 3; i++) times.push((await measure(process.execPath, [starlineBin, '--version'], { scratchDir, timeoutMs: 30_000 })).wallMs)
  return times.sort((a, b) => a - b)[1]!
}

function parseScales(text: string): number[] {
  const scales = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number)
  if (scales.length === 0 || scales.some((s) => !Number.isFinite(s) || s <= 0 || s > 1000)) {
    throw new BenchUsageError(`BENCH_SCALES must be comma-separated numbers above 0 and at most 1000; got ${JSON.stringify(text)}.`)
  }
  return scales
}

function integerSetting(name: string, fallback: number, zeroAllowed = false): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < (zeroAllowed ? 0 : 1)) {
    throw new BenchUsageError(`${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} whole number; got ${JSON.stringify(raw)}.`)
  }
  return value
}

/** Others' cores below which the machine counts as idle. */
const IDLE_CORES = 0.2

/**
 * Waits until the machine has been idle for two half-second samples in a row
 * (another test suite or build would slow every figure), spending at most
 * what is left of the bench's budget. The bench runs nothing meanwhile, so
 * any busy CPU is someone else's, or the server's background writes.
 */
async function waitForIdle(budget: { leftMs: number }, say: (line: string) => void): Promise<void> {
  if (budget.leftMs <= 0) return
  const started = Date.now()
  const maxMs = budget.leftMs
  const deadline = started + maxMs
  let quiet = 0
  let told = false
  while (quiet < 2) {
    const cores = await busyCores(500)
    quiet = cores < IDLE_CORES ? quiet + 1 : 0
    if (quiet >= 2) break
    if (Date.now() >= deadline) {
      budget.leftMs = 0
      if (told) say('bench: the machine is still busy; measuring anyway (see the others column)')
      return
    }
    if (!told && cores >= IDLE_CORES) {
      say(`bench: other processes use ${cores.toFixed(2)} cores; waiting up to ${Math.round(maxMs / 1000)} s for the machine to be idle (BENCH_IDLE_WAIT_S)`)
      told = true
    }
  }
  budget.leftMs = Math.max(0, maxMs - (Date.now() - started))
  if (told) say('bench: the machine is idle again')
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(error instanceof BenchUsageError ? 2 : 1)
  },
)
