/**
 * Runs one hostile case against a fresh pipeline and says how it ended:
 * reaches the case's start state, acts, then checks the outcome the case
 * expects (exact, refused-then-fixed, or recovered) against the source.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StarlineError } from '../../src/core/starline-error.js'
import { quoteIdent } from '../../src/sql/quote.js'
import { FAILURE_PREFIX, ALERT_PREFIX } from '../../src/lake/keys.js'
import { listAll } from '../../src/lake/object-store.js'
import { extract } from '../../src/pipeline/extract.js'
import { load } from '../../src/pipeline/load.js'
import { transform } from '../../src/pipeline/transform.js'
import { extractOptions, loadOptions, openConfiguredWarehouse } from '../../src/runtime/pipeline-setup.js'
import { runCli } from '../support/cli-process.js'
import type { FrozenPipeline, PipelineFixture, Pipeline } from '../support/pipeline-fixture.js'
import { warehouseSnapshot } from '../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource, countAgainstSource, type RowDifference } from '../support/source-comparison.js'
import type { CaseContext, CliCall, HostileCase, Refusal } from './hostile-case.js'

/** The suite's scale: small enough for a hundred cases in a few minutes, with rows in every table. */
export const HOSTILE_SCALE = 0.02

/** Source changes in several tables, stamped after the first cycle: what an `extracted` start extracts. */
const TOUCH = [
  "UPDATE sales_order SET units_sold = units_sold + 1, last_updated = '2024-11-19 09:00:00.123' WHERE sales_order_id <= 5",
  "UPDATE payment SET paid = NOT paid, last_updated = '2024-11-19 09:00:01.456' WHERE payment_id <= 5",
  "UPDATE design SET design_name = design_name || ' (v2)', last_updated = '2024-11-19 09:00:02' WHERE design_id <= 2",
  "UPDATE address SET phone = '0000 111222', last_updated = '2024-11-19 09:00:03' WHERE address_id = 1",
] as const

/** How a case ended, for the report. */
export interface CaseResult {
  readonly outcome: 'exact' | 'refused' | 'recovered'
  readonly detail: string
  readonly rows: RowDifference
}

/** A message as the report keeps it: temp dirs, ports and run ids vary between runs, so they are named, not quoted. */
function reported(message: string): string {
  return message
    .replace(/file:\/\/\/\S*?starline-[\w-]+?-\w{6}/g, 'file://<tmp>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\b(source|warehouse)_\d+\b/g, '$1_<n>')
    .replace(/\b\d{8}T\d{9}Z\b/g, '<run>')
    .replace(/\/\d{4}\/\d{2}\/\d{2}\/<run>/g, '/<date>/<run>')
    .slice(0, 160)
}

/** Runs stages in this process, as `starline` would, with the pipeline's configuration. */
export const stages = {
  cycle: (p: Pipeline) => p.cycle(),
  extract: (p: Pipeline) => extract(p.ctx, extractOptions(p.config)),
  transform: (p: Pipeline) => transform(p.ctx),
  async load(p: Pipeline) {
    const warehouse = await openConfiguredWarehouse(p.config)
    try {
      return await load(p.ctx, loadOptions(p.config, warehouse))
    } finally {
      await warehouse.close()
    }
  },
} as const

/** The environment the CLI needs to run on the pipeline, as an operator would set it. */
export function cliEnv(pipeline: Pipeline, overrides: Readonly<Record<string, string | null>> = {}): Record<string, string> {
  const env: Record<string, string | null> = {
    ...pipeline.lakeEnv,
    STARLINE_SOURCE_URL: pipeline.sourceUrl,
    STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
    STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
    STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
    STARLINE_EXTRACT_LAG: '0ms',
    ...overrides,
  }
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== null))
}

/** Every published object of both zones (failure records and alert incidents aside: a refusal writes those on purpose). */
export async function lakeObjects(pipeline: Pipeline): Promise<string[]> {
  const objects = []
  for (const [zone, store] of [['ingestion', pipeline.ctx.ingestion], ['processed', pipeline.ctx.processed]] as const) {
    for (const o of await listAll(store, '')) {
      if (!o.key.startsWith(FAILURE_PREFIX) && !o.key.startsWith(ALERT_PREFIX)) objects.push(`${zone}/${o.key} ${o.size}`)
    }
  }
  return objects.sort()
}

/** The warehouse's star tables and ledger, or nothing when it has no tables yet. */
async function warehouseState(pipeline: Pipeline): Promise<Record<string, string[]> | 'empty'> {
  const [row] = await pipeline.warehouse<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = '_starline_loads'")
  if (!row?.n) return 'empty'
  // A case may have dropped a star table: then the tables and their row counts stand for the contents.
  return warehouseSnapshot(pipeline).catch(async () => {
    const tables = await pipeline.warehouse<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    const counts = []
    for (const { t } of tables) counts.push(`${t} ${(await pipeline.warehouse<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(t)}`))[0]?.n}`)
    return { tables: counts }
  })
}

/** Asserts `error` is a StarlineError with one line naming what failed, retryable as the refusal says. */
export function assertRefusal(error: unknown, refusal: Refusal): StarlineError {
  assert.ok(error instanceof StarlineError, `expected a StarlineError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
  assert.match(error.message, refusal.message)
  assert.doesNotMatch(error.message, /\n/, 'the message is one line')
  assert.equal(error.retryable, refusal.retryable ?? false, `retryable: ${error.message}`)
  return error
}

async function runCall(ctx: CaseContext, call: CliCall): Promise<string> {
  const result = await runCli(call.args, cliEnv(ctx.pipeline, call.env?.(ctx)))
  assert.equal(result.code, call.status, `exit status of starline ${call.args.join(' ')}: ${result.stderr}`)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('starline'))
  if (call.stderr) assert.ok(lines.some((line) => call.stderr!.test(line)), `stderr has a line like ${call.stderr}:\n${result.stderr}`)
  return lines.at(-1) ?? ''
}

async function reach(ctx: CaseContext & { pendingRunId: string | undefined }, c: HostileCase, cycled: boolean): Promise<string | undefined> {
  const start = c.start ?? 'cycled'
  if (start === 'fresh') return undefined
  if (!cycled) await ctx.pipeline.cycle()
  if (start === 'cycled') return undefined
  for (const sql of TOUCH) await ctx.pipeline.source(sql)
  const extracted = await stages.extract(ctx.pipeline)
  assert.ok(extracted.runId, 'the touched source makes a run')
  if (start === 'transformed') await stages.transform(ctx.pipeline)
  return extracted.runId
}

/** Converges and measures: the warehouse must equal the source row for row. */
async function converged(pipeline: Pipeline): Promise<RowDifference> {
  const rows = await countAgainstSource(pipeline)
  await assertWarehouseMatchesSource(pipeline)
  assert.deepEqual(rows, { lost: 0, doubled: 0 })
  return rows
}

/**
 * Runs `c` on a new pipeline of `fixture` (a copy of `cycled`, a pipeline
 * frozen after one cycle, when the case starts from there); throws (fails
 * the test) when the outcome is not the expected one.
 */
export async function runHostileCase(fixture: PipelineFixture, c: HostileCase, cycled?: FrozenPipeline): Promise<CaseResult> {
  const pipeline = await open(fixture, c, cycled)
  try {
    return await check(pipeline, c, cycled !== undefined && (c.start ?? 'cycled') !== 'fresh' && c.scale === undefined)
  } finally {
    // Its connections go back at once: two hundred cases must fit the server's max_connections.
    await pipeline.close().catch(() => {})
  }
}

function open(fixture: PipelineFixture, c: HostileCase, cycled?: FrozenPipeline): Promise<Pipeline> {
  const from = (c.start ?? 'cycled') !== 'fresh' && c.scale === undefined ? cycled : undefined
  return fixture.pipeline({ scale: c.scale ?? HOSTILE_SCALE, ...(c.env ? { env: c.env } : {}), ...(from ? { from } : {}) })
}

async function check(pipeline: Pipeline, c: HostileCase, fromCycled: boolean): Promise<CaseResult> {
  const saved = new Map<string, unknown>()
  const base = {
    pipeline,
    saved,
    pendingRunId: undefined as string | undefined,
    file: (zone: 'ingestion' | 'processed', key: string) => join(fileURLToPath(pipeline.ctx[zone].root), ...key.split('/')),
  }
  const ctx: CaseContext = { ...base, pendingRunId: await reach(base, c, fromCycled) }
  await c.act?.(ctx)

  if (c.expect === 'exact') {
    await (c.run ? c.run(ctx) : pipeline.cycle())
    if (c.settle) {
      await c.settle(ctx)
      await pipeline.cycle()
    }
    return { outcome: 'exact', detail: `${c.does}: the warehouse equals the source`, rows: await converged(pipeline) }
  }

  if (c.expect === 'recovered') {
    let failure = 'it coped'
    try {
      await c.run(ctx)
    } catch (error) {
      if (!c.refusal) throw error
      failure = `refused ("${reported(assertRefusal(error, c.refusal).message)}")`
    }
    await pipeline.cycle()
    return { outcome: 'recovered', detail: `${c.does}: ${failure}, then a rerun equals the source`, rows: await converged(pipeline) }
  }

  const lakeBefore = await lakeObjects(pipeline)
  const warehouseBefore = await warehouseState(pipeline)
  let said: string
  if (c.cli) said = await runCall(ctx, c.cli)
  else {
    assert.ok(c.refusal, `${c.id}: a refused case needs a refusal or a CLI call`)
    const error = await stages[c.stage ?? 'cycle'](pipeline).then(
      () => assert.fail(`${c.id}: the ${c.stage ?? 'cycle'} was expected to refuse, and succeeded`),
      (e: unknown) => e,
    )
    said = assertRefusal(error, c.refusal).message
  }
  assert.deepEqual(await lakeObjects(pipeline), lakeBefore, 'the refusal changed nothing in the lake')
  assert.deepEqual(await warehouseState(pipeline), warehouseBefore, 'the refusal changed nothing in the warehouse')
  await c.fix(ctx)
  await pipeline.cycle()
  return { outcome: 'refused', detail: `${c.does}: refused ("${reported(said)}"), fixed, then exact`, rows: await converged(pipeline) }
}
