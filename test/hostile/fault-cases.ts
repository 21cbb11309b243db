/**
 * Faults: connections killed mid-statement, databases turned read-only or
 * impatient, runs racing each other, leftovers of runs that died without a
 * lease. A run may fail (one line, retryable when a retry can help) or cope;
 * either way the rerun converges with nothing lost or doubled.
 */
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { dataKey } from '../../src/lake/keys.js'
import { listRunIds } from '../../src/lake/manifest.js'
import type { CaseContext, HostileCase } from './hostile-case.js'
import { assertRefusal, stages } from './run-hostile-case.js'
import type { Pipeline } from '../support/pipeline-fixture.js'

const STAMP = "'2024-11-19 09:00:00'"
const touch = `UPDATE payment SET paid = NOT paid, last_updated = ${STAMP} WHERE payment_id <= 50`

const dbName = (url: string) => new URL(url).pathname.slice(1)

/** Terminates, once, every other backend of `url`'s database running a statement like `pattern`, while `work` runs. */
async function killDuring(p: Pipeline, which: 'source' | 'warehouse', pattern: string, work: () => Promise<unknown>): Promise<boolean> {
  const query = which === 'source' ? p.source : p.warehouse
  const name = dbName(which === 'source' ? p.sourceUrl : p.warehouseUrl)
  let killed = false
  let done = false
  const killer = (async () => {
    while (!done && !killed) {
      const rows = await query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE $2`,
        [name, pattern],
      )
      killed = (rows[0]?.n ?? 0) > 0
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  })()
  try {
    await work().catch((error: unknown) => {
      assertRefusal(error, { message: /\S/, retryable: true })
    })
  } finally {
    done = true
    await killer
  }
  return killed
}

/** Runs `count` copies of a stage at once (each finishes or is refused as retryable: a lease held), then the rest of a cycle. */
async function race(ctx: CaseContext, stage: keyof typeof stages, count: number): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: count }, () => stages[stage](ctx.pipeline)))
  for (const result of results) {
    if (result.status === 'rejected') assertRefusal(result.reason, { message: /lease|already|another/i, retryable: true })
  }
  assert.ok(results.some((r) => r.status === 'fulfilled'), `one ${stage} of ${count} finished`)
  await ctx.pipeline.cycle()
}

const setting = (which: 'source' | 'warehouse', name: string, value: string) => async (ctx: CaseContext) => {
  const url = which === 'source' ? ctx.pipeline.sourceUrl : ctx.pipeline.warehouseUrl
  await ctx.pipeline[which](`ALTER DATABASE "${dbName(url)}" SET ${name} = '${value}'`)
}

export const FAULT_CASES: readonly HostileCase[] = [
  {
    id: 'fault-source-killed-mid-copy',
    category: 'faults',
    does: 'terminates the source connection during the extract COPY of a first full run',
    start: 'fresh',
    expect: 'recovered',
    run: async (ctx) => void (await killDuring(ctx.pipeline, 'source', 'COPY %', () => ctx.pipeline.cycle())),
  },
  {
    id: 'fault-warehouse-killed-mid-load',
    category: 'faults',
    does: 'terminates the warehouse connection during a load',
    start: 'transformed',
    expect: 'recovered',
    run: async (ctx) => void (await killDuring(ctx.pipeline, 'warehouse', '%', () => stages.load(ctx.pipeline))),
  },
  {
    id: 'fault-warehouse-killed-first-load',
    category: 'faults',
    does: 'terminates the warehouse connection during the first bulk load',
    start: 'fresh',
    expect: 'recovered',
    run: async (ctx) => {
      await stages.extract(ctx.pipeline)
      await stages.transform(ctx.pipeline)
      await killDuring(ctx.pipeline, 'warehouse', 'COPY %', () => stages.load(ctx.pipeline))
    },
  },
  {
    id: 'fault-warehouse-read-only',
    category: 'faults',
    does: 'turns the warehouse database read-only before a load',
    start: 'transformed',
    expect: 'refused',
    act: setting('warehouse', 'default_transaction_read_only', 'on'),
    stage: 'load',
    refusal: { message: /read-only|read only/ },
    fix: setting('warehouse', 'default_transaction_read_only', 'off'),
  },
  {
    id: 'fault-source-read-only',
    category: 'faults',
    does: 'turns the source database read-only (extract only reads)',
    expect: 'exact',
    act: async (ctx) => {
      await ctx.pipeline.source(touch)
      await setting('source', 'default_transaction_read_only', 'on')(ctx)
    },
  },
  {
    id: 'fault-source-statement-timeout',
    category: 'faults',
    does: 'gives the source a 1 ms statement timeout',
    expect: 'recovered',
    act: async (ctx) => {
      await ctx.pipeline.source(touch)
      await setting('source', 'statement_timeout', '1ms')(ctx)
    },
    run: async (ctx) => {
      // A timeout the database imposes is not transient: retrying meets the same limit.
      await ctx.pipeline.cycle().catch((error: unknown) => assertRefusal(error, { message: /statement timeout/ }))
      await setting('source', 'statement_timeout', '0')(ctx)
    },
  },
  {
    id: 'fault-race-cycles',
    category: 'faults',
    does: 'runs three cycles at once',
    expect: 'exact',
    act: async (ctx) => void (await ctx.pipeline.source(touch)),
    run: (ctx) => race(ctx, 'cycle', 3),
  },
  {
    id: 'fault-race-loads',
    category: 'faults',
    does: 'runs three loads of the same pending run at once',
    start: 'transformed',
    expect: 'exact',
    run: (ctx) => race(ctx, 'load', 3),
  },
  {
    id: 'fault-race-transforms',
    category: 'faults',
    does: 'runs two transforms of the same pending run at once',
    start: 'extracted',
    expect: 'exact',
    run: (ctx) => race(ctx, 'transform', 2),
  },
  {
    id: 'fault-race-extracts',
    category: 'faults',
    does: 'runs two extracts at once',
    expect: 'exact',
    act: async (ctx) => void (await ctx.pipeline.source(touch)),
    run: (ctx) => race(ctx, 'extract', 2),
  },
  {
    id: 'fault-leftovers-without-lease',
    category: 'faults',
    does: 'leaves half-written CSV and Parquet objects of a run that has no lease and no manifest',
    expect: 'exact',
    act: async (ctx) => {
      for (const [zone, key] of [['ingestion', dataKey('payment', '20241119T070000000Z', 'csv')], ['processed', dataKey('fact_payment', '20241119T070000000Z', 'parquet')]] as const) {
        const path = ctx.file(zone, key)
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, 'payment_id,paid\n1,tr')
      }
      await ctx.pipeline.source(touch)
    },
  },
  {
    id: 'fault-idle-reruns',
    category: 'faults',
    does: 'reruns the cycle three times with nothing new (no run, no duplicate)',
    expect: 'exact',
    run: async (ctx) => {
      const before = await listRunIds(ctx.pipeline.ctx.ingestion)
      for (let i = 0; i < 3; i++) await ctx.pipeline.cycle()
      assert.deepEqual(await listRunIds(ctx.pipeline.ctx.ingestion), before, 'an idle cycle writes nothing')
    },
  },
  {
    id: 'fault-stage-order-shuffled',
    category: 'faults',
    does: 'runs load before transform before extract, twice',
    expect: 'exact',
    act: async (ctx) => void (await ctx.pipeline.source(touch)),
    run: async (ctx) => {
      for (let i = 0; i < 2; i++) {
        await stages.load(ctx.pipeline)
        await stages.transform(ctx.pipeline)
        await stages.extract(ctx.pipeline)
      }
      await stages.load(ctx.pipeline)
    },
  },
  {
    id: 'fault-killed-mid-run',
    category: 'faults',
    does: 'kills starline run with SIGKILL at a random point',
    todo: 'crash: the crash matrix (SIGKILL at 100+ points) covers this; it writes crash.json',
    expect: 'exact',
  },
]
