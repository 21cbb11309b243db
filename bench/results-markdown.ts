/**
 * Renders the bench's results: bench/RESULTS.md, and the same tables as
 * plain text for the terminal.
 */
import { formatTable } from '../src/observe/summary-text.js'
import type { BaselineFigure } from './psql-baseline.js'
import {
  baselineRatio,
  fmtRate,
  pct,
  profileParts,
  rowsPerSecond,
  scenarioTotal,
  SCENARIOS,
  STAGES_OF_A_CYCLE,
  stageFigure,
  type BenchResults,
  type ScaleResult,
  type Scenario,
} from './results.js'

interface Grid {
  readonly headers: readonly string[]
  readonly rows: readonly (readonly string[])[]
  /** Columns to right-align in Markdown. */
  readonly numeric: readonly number[]
}

const FIGURE_HEADERS = ['scenario', 'stage', 'rows', 'wall s', 'in-stage s', 'CPU s', 'rows/s', 'peak RSS MB', 'psql rows/s', 'ratio', 'others'] as const

export function scaleGrid(result: ScaleResult): Grid {
  const rows: string[][] = []
  const secs = (ms: number) => (ms / 1000).toFixed(2)
  const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : String(Math.round(bytes / 1024 ** 2)))
  const cpu = (ms: number | undefined) => (ms === undefined ? '' : secs(ms))
  const cores = (n: number | undefined) => (n === undefined ? '' : n.toFixed(2))
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    const stages = [...STAGES_OF_A_CYCLE, ...(scenario === 'full' ? [] : (['run'] as const))]
    for (const stage of stages) {
      const f = stageFigure(result, scenario, stage)
      if (!f) continue
      const ratio = scenario === 'full' && (stage === 'extract' || stage === 'load') ? baselineRatio(result, stage) : undefined
      rows.push([
        SCENARIOS[scenario],
        stage === 'run' ? 'run (one process)' : stage,
        count(f.rows),
        secs(f.wallMs),
        secs(f.stageMs),
        cpu(f.cpuMs),
        f.rows > 0 ? fmtRate(rowsPerSecond(f.rows, f.wallMs)) : '-',
        mb(f.peakRssBytes),
        ratio ? fmtRate(ratio.psql) : '',
        ratio ? pct(ratio.ratio) : '',
        cores(f.othersCores),
      ])
    }
    const total = scenarioTotal(result, scenario)
    if (total) {
      rows.push([
        SCENARIOS[scenario],
        '**total** (3 processes)',
        count(total.rows),
        secs(total.wallMs),
        secs(total.stageMs),
        '',
        total.rows > 0 ? fmtRate(rowsPerSecond(total.rows, total.wallMs)) : '-',
        mb(total.peakRssBytes),
        '',
        '',
        '',
      ])
    }
  }
  if (!('skipped' in result.baseline)) {
    const base = (name: string, f: BaselineFigure) =>
      rows.push(['psql baseline', name, count(f.rows), secs(f.wallMs), '', cpu(f.cpuMs), fmtRate(rowsPerSecond(f.rows, f.wallMs)), mb(f.peakRssBytes), '', '', cores(result.baselineOthersCores)])
    base('\\copy TO csv (extract limit)', result.baseline.extract)
    base('\\copy FROM csv, bare tables (load limit)', result.baseline.load.bare)
    base('\\copy FROM csv, tables with keys + indexes', result.baseline.load.indexed)
  }
  return { headers: FIGURE_HEADERS, rows, numeric: [2, 3, 4, 5, 6, 7, 8, 9, 10] }
}

export function targetsGrid(results: BenchResults): Grid {
  return {
    headers: ['target', 'scale', 'figure', 'status'],
    rows: results.targets.map((t) => [t.target, String(t.scale), t.figure, t.status === 'met' ? 'met' : t.status === 'missed' ? '**missed**' : t.status]),
    numeric: [],
  }
}

export function renderMarkdown(results: BenchResults): string {
  const out: string[] = []
  const scales = results.scales.map((r) => r.scale).join(', ')
  out.push('# starline benchmark results', '')
  out.push(`Written by \`npm run bench\` on ${results.date} (scales ${scales}, ${(results.durationMs / 60_000).toFixed(1)} min in all). Rerun to refresh; do not edit by hand.`, '')
  out.push(
    '```sh',
    'npm run bench                      # scales 1, 10 and 100 (about 5 minutes on 2 cores)',
    'BENCH_SCALES=1,10 npm run bench    # quicker; BENCH_PROFILE=0 skips the profiling replays',
    'BENCH_SCALES=10,100,300 npm run bench  # up to 14.4M source rows (about 15 minutes idle)',
    '```',
    '',
    'Other settings (BENCH_SEED, BENCH_STAGE_TIMEOUT_S, BENCH_TIMEOUT_S, BENCH_OUT_DIR, BENCH_PSQL, STARLINE_DUCKDB_MEMORY...) are listed at the top of `bench/run-bench.ts`. ' +
      'Run it on an otherwise idle machine: the *others* column shows CPU that other processes took meanwhile.',
    '',
  )
  out.push('## Machine and versions', '')
  out.push(markdownTable({ headers: ['', 'value'], rows: [...Object.entries(results.machine), ...Object.entries(results.versions)].map(([k, v]) => [k, String(v)]), numeric: [] }), '')

  out.push('## Targets', '')
  out.push('Measured, not asserted: the targets of issue 11 (bench/results.ts, TARGETS). A total is the three stage processes (extract, transform, load) run one after the other.', '')
  const busy = results.scales.flatMap((r) => r.warnings.filter((w) => w.startsWith('other processes')).map(() => r.scale))
  if (busy.length > 0) {
    out.push(
      `> **Other processes competed for the CPU during ${busy.length} measurements** (scales ${[...new Set(busy)].join(', ')}; see the *others* column): those figures are pessimistic. Rerun on an idle machine.`,
      '',
    )
  }
  out.push(markdownTable(targetsGrid(results)), '')
  const missed = results.targets.filter((t) => t.status === 'missed' && t.limits)
  if (missed.length > 0) {
    out.push('What limits the missed targets (from the figures):', '')
    for (const t of missed) out.push(`- **${t.target}**, scale ${t.scale}: ${t.limits}`)
    out.push('')
  }

  out.push('## Figures', '')
  out.push(
    '- *wall s*: from spawning `node bin/starline.js <stage> --json` to its exit, so process start-up is included ' +
      `(\`starline --version\` alone takes ${(results.processStartMs / 1000).toFixed(2)} s here). *in-stage s*: the durationMs the stage reports itself.`,
    '- *rows*: from the stage\'s JSON summary: extract = source rows copied to the lake; transform = star rows written to Parquet; load = star rows loaded; the total row repeats the extract\'s source rows, so its rows/s is source rows moved end to end per second.',
    '- *CPU s*: user + system CPU time of the process, all threads (DuckDB\'s included); far below wall time means the process mostly waited, for PostgreSQL or the disk.',
    '- *others*: CPU that other processes on the machine used during the measurement, in cores (machine busy time from /proc/stat minus the measured process, the bench\'s PostgreSQL server and the bench itself). Above ~0.2 on a 2-core machine the figure is slowed down by someone else\'s work.',
    `- *peak RSS*: the peak resident set of that one process (${results.rssMethod === 'gnu-time' ? 'GNU time\'s maximum resident set size, from the kernel' : results.rssMethod === 'proc-vmhwm' ? 'VmHWM polled from /proc every 20 ms' : 'not available'}); DuckDB runs in process and counts. A total's peak is the largest of its three.`,
    '- *ratio*: starline rows/s over psql rows/s for the same rows on the same server, first full run only. Extract limit: one psql process running `\\copy (SELECT <the same columns> FROM <table>) TO <file> WITH (FORMAT csv, HEADER true)` for all 11 source tables. ' +
      'Load limit: the star tables starline loaded, exported to CSV (untimed), then one psql process running `\\copy <table> FROM <file> WITH (FORMAT csv)` for each, in one transaction, into empty `CREATE TABLE ... (LIKE <warehouse table>)` tables: same columns, types and NOT NULL, no keys or indexes. The same load into tables with the warehouse\'s primary keys and unique indexes (`INCLUDING INDEXES`, no foreign keys) is shown for reference. ' +
      'The extract and bare load are timed BENCH_BASELINE_RUNS times and the fastest counts (a limit is the best the machine does; single psql runs varied by up to 30%).',
    '- Every scale has its own fresh source and warehouse databases (one embedded PostgreSQL server for the whole bench, fsync off) and a fresh lake. The source is VACUUM ANALYZEd after generation. ' +
      `Settings: ${Object.entries(results.settings).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
    '',
  )
  for (const result of results.scales) {
    out.push(`### Scale ${result.scale}: ${count(result.sourceRowsTotal)} source rows`, '')
    const day = result.simulatedDay
    out.push(
      `Generated in ${(result.generateMs / 1000).toFixed(1)} s, history until ${result.historyUntil.slice(0, 10)}. ` +
        `The simulated day (${day.day}): ${day.salesOrders} sales orders, ${day.purchaseOrders} purchase orders, ${day.transactions} transactions, ` +
        `${day.payments} payments, ${day.paymentsPaid} payments paid, ${day.newDesigns} new designs, ${day.silentDesignEdits} silent design edits.`,
      '',
    )
    out.push(markdownTable(scaleGrid(result)), '')
    const notes = result.stages.filter((s) => s.notes?.length).map((s) => `${SCENARIOS[s.scenario]}, ${s.stage}: ${s.notes!.join('; ')}`)
    if (notes.length > 0) out.push(`Stage notes: ${notes.join('. ')}.`, '')
    if ('skipped' in result.baseline) out.push(`Baseline skipped: ${result.baseline.skipped}`, '')
    for (const warning of result.warnings) out.push(`> Warning: ${warning}`, '')
    for (const profile of result.profiles ?? []) {
      out.push(
        `Where the first full ${profile.stage}'s time goes (an untimed replay, every PostgreSQL statement timed; ${(profile.stageMs / 1000).toFixed(2)} s in-stage):`,
        '',
        markdownTable({
          headers: ['part', 's', 'share', 'statements'],
          rows: profileParts(profile, 8).map((p) => [p.label, (p.ms / 1000).toFixed(2), pct(p.share), p.count ? String(p.count) : '']),
          numeric: [1, 2, 3],
        }),
        '',
      )
    }
    out.push(`Source rows: ${Object.entries(result.sourceRows).map(([t, n]) => `${t} ${count(n)}`).join(', ')}.`, '')
  }
  return out.join('\n')
}

/** The same tables for the terminal. */
export function renderText(results: BenchResults): string {
  const text = (grid: Grid) => formatTable(grid.headers, grid.rows.map((r) => r.map((c) => c.replace(/\*\*/g, ''))))
  const parts = results.scales.map((r) => {
    const profiles = (r.profiles ?? []).map(
      (p) =>
        `\n\nfirst full ${p.stage}, profiled replay (${(p.stageMs / 1000).toFixed(2)} s in-stage)\n` +
        formatTable(['part', 's', 'share'], profileParts(p, 8).map((x) => [x.label, (x.ms / 1000).toFixed(2), pct(x.share)])),
    )
    return `scale ${r.scale} (${count(r.sourceRowsTotal)} source rows)\n${text(scaleGrid(r))}${profiles.join('')}`
  })
  parts.push(`targets\n${text(targetsGrid(results))}`)
  for (const t of results.targets) if (t.status === 'missed' && t.limits) parts.push(`missed: ${t.target} (scale ${t.scale}): ${t.limits}`)
  return parts.join('\n\n')
}

function markdownTable(grid: Grid): string {
  const escapePipes = (cell: string) => cell.replace(/\|/g, '\\|')
  const align = grid.headers.map((_, i) => (grid.numeric.includes(i) ? '---:' : '---'))
  return [
    `| ${grid.headers.map(escapePipes).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...grid.rows.map((row) => `| ${row.map(escapePipes).join(' | ')} |`),
  ].join('\n')
}

function count(n: number): string {
  return n.toLocaleString('en-GB')
}
