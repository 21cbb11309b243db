/**
 * A/B of the first full load: `starline load` of one kept lake into a fresh
 * warehouse database per run, builds alternated (A B, B A, A B...), each
 * timed for wall, its own CPU (GNU time) and the PostgreSQL server's CPU;
 * medians printed. A is the CLI at FIRST_LOAD_AB_A (for example a build of
 * main), B this checkout's bin/starline.js.
 *
 *   npm run build && FIRST_LOAD_AB_A=/tmp/main/bin/starline.js FIRST_LOAD_AB_SCALE=30 \
 *     node --import tsx bench/first-load-ab.ts
 *
 * FIRST_LOAD_AB_RUNS pairs (default 3). Each run waits up to
 * FIRST_LOAD_AB_QUIET_S seconds (default 60) for the machine's other work to
 * fall under 0.3 cores; what it used during the run is printed (`others`, in
 * cores): above ~0.2 the wall times are slowed down.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { generateTotesys } from '../src/datasets/totesys/generator.js'
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres-server.js'
import { CpuMeter, otherCores } from './cpu-meter.js'
import { measure } from './measure.js'

const scale = Number(process.env.FIRST_LOAD_AB_SCALE ?? '30')
const runs = Number(process.env.FIRST_LOAD_AB_RUNS ?? '3')
const quietMs = Number(process.env.FIRST_LOAD_AB_QUIET_S ?? '60') * 1000

/** Waits (at most `quietMs`) for a second in which other processes use under 0.3 cores. */
async function waitForQuiet(meter: CpuMeter): Promise<void> {
  const until = Date.now() + quietMs
  while (Date.now() < until) {
    const before = await meter.snapshot()
    await new Promise((done) => setTimeout(done, 1000))
    if (otherCores(before, await meter.snapshot(), 0) < 0.3) return
  }
}
const builds = { A: process.env.FIRST_LOAD_AB_A, B: resolve('bin/starline.js') }
if (builds.A === undefined) throw new Error('Set FIRST_LOAD_AB_A to the CLI to compare with (bin/starline.js of another build).')

const work = await mkdtemp(join(tmpdir(), 'starline-first-load-ab-'))
const server = await startEmbeddedPostgres()
try {
  const meter = await CpuMeter.forServerOnPort(server.port)
  const sourceUrl = await server.createDatabase('ab_source')
  const source = new pg.Client({ connectionString: sourceUrl })
  await source.connect()
  await generateTotesys(source, { scale, until: new Date('2026-11-10T00:00:00Z'), seed: 1 })
  await source.query('VACUUM (ANALYZE)')
  await source.end()
  const scratch = join(work, 'scratch')
  await mkdir(scratch, { recursive: true })
  const env = (warehouse: string): NodeJS.ProcessEnv => ({
    ...process.env,
    STARLINE_SOURCE_URL: sourceUrl,
    STARLINE_WAREHOUSE_URL: server.url(warehouse),
    STARLINE_INGESTION_URL: pathToFileURL(join(work, 'lake', 'ingestion')).href,
    STARLINE_PROCESSED_URL: pathToFileURL(join(work, 'lake', 'processed')).href,
    STARLINE_SCRATCH_DIR: scratch,
    STARLINE_EXTRACT_LAG: '0ms',
    STARLINE_LOG_LEVEL: 'warn',
  })
  await server.createDatabase('ab_prepare')
  for (const stage of ['extract', 'transform']) {
    const m = await measure(process.execPath, [builds.B, stage, '--json'], { env: env('ab_prepare'), scratchDir: scratch, label: stage })
    if (m.exitCode !== 0) throw new Error(`${stage} failed: ${m.stderr}`)
  }
  const figures: Record<'A' | 'B', { wall: number; cpu: number; server: number }[]> = { A: [], B: [] }
  for (let run = 0; run < runs; run++) {
    for (const name of run % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const database = `ab_warehouse_${run}_${name}`
      await server.createDatabase(database, { replace: true })
      await waitForQuiet(meter)
      const before = await meter.snapshot()
      const m = await measure(process.execPath, [builds[name]!, 'load', '--json'], { env: env(database), scratchDir: scratch, label: `load ${name}` })
      // Backends exit as the CLI closes its pool; give the postmaster a moment to reap them into its children's time.
      await new Promise((done) => setTimeout(done, 300))
      const after = await meter.snapshot()
      if (m.exitCode !== 0) throw new Error(`load ${name} failed: ${m.stderr}`)
      const rows = (JSON.parse(m.stdout) as { rows: number }).rows
      const figure = { wall: m.wallMs, cpu: m.cpuMs ?? Number.NaN, server: after.serverMs - before.serverMs }
      figures[name].push(figure)
      const others = otherCores(before, after, figure.cpu)
      console.log(
        `scale ${scale} run ${run + 1} ${name}: ${rows} rows, wall ${(figure.wall / 1000).toFixed(2)} s, client CPU ${(figure.cpu / 1000).toFixed(2)} s, ` +
          `server CPU ${(figure.server / 1000).toFixed(2)} s, others ${others.toFixed(2)} cores`,
      )
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  for (const name of ['A', 'B'] as const) {
    const f = figures[name]
    console.log(
      `scale ${scale} ${name} median of ${f.length}: wall ${(median(f.map((x) => x.wall)) / 1000).toFixed(2)} s, ` +
        `client CPU ${(median(f.map((x) => x.cpu)) / 1000).toFixed(2)} s, server CPU ${(median(f.map((x) => x.server)) / 1000).toFixed(2)} s`,
    )
  }
} finally {
  await server.stop()
  await rm(work, { recursive: true, force: true })
}
