/**
 * Time zones: the source database, the extract session, the Node process
 * and the application each in a different zone. The window must read the
 * clock the application stamps rows with, so no late commit is lost.
 */
import assert from 'node:assert/strict'
import pg from 'pg'
import { extract } from '../../src/pipeline/extract.js'
import { extractOptions } from '../../src/runtime/pipeline-setup.js'
import { openSource } from '../../src/source/open-source.js'
import { runCli } from '../support/cli-process.js'
import type { CaseContext, HostileCase } from './hostile-case.js'
import { cliEnv } from './run-hostile-case.js'

const ORDER_NOW = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
    agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id, created_at, last_updated)
  VALUES (1, 1, 1, 10, 2.50, 1, '2024-11-25', '2024-11-21', 1, now(), now())`

const database = (ctx: CaseContext) => new URL(ctx.pipeline.sourceUrl).pathname.slice(1)

/** The source database's default zone set to `zone`, and an application writing rows with now() in it. */
function databaseZone(id: string, zone: string, env: Record<string, string> = {}): HostileCase {
  return {
    id: `tz-database-${id}`,
    category: 'time zones',
    does: `sets the source database's zone to ${zone}; the application stamps rows with now()${Object.keys(env).length ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`,
    ...(Object.keys(env).length ? { env } : {}),
    expect: 'exact',
    act: async (ctx) => {
      await ctx.pipeline.source(`ALTER DATABASE "${database(ctx)}" SET timezone = '${zone}'`)
      const app = new pg.Client({ connectionString: ctx.pipeline.sourceUrl })
      await app.connect()
      try {
        await app.query(ORDER_NOW)
      } finally {
        await app.end()
      }
    },
    run: async (ctx) => {
      await ctx.pipeline.cycle()
      const app = new pg.Client({ connectionString: ctx.pipeline.sourceUrl })
      await app.connect()
      try {
        await app.query(ORDER_NOW)
      } finally {
        await app.end()
      }
      await ctx.pipeline.cycle()
    },
  }
}

/** A CLI run with a process-level zone variable set. */
function processZone(id: string, variable: string, zone: string): HostileCase {
  return {
    id: `tz-process-${id}`,
    category: 'time zones',
    does: `runs the CLI with ${variable}=${zone} after the application stamps rows with now()`,
    expect: 'exact',
    act: async (ctx) => void (await ctx.pipeline.source(ORDER_NOW)),
    run: async (ctx) => {
      const result = await runCli(['run'], { ...cliEnv(ctx.pipeline), [variable]: zone })
      assert.equal(result.code, 0, result.stderr)
    },
  }
}

/** A transaction that stamps its row and commits after another run has extracted past it. */
async function lateCommit(ctx: CaseContext, connectionZone: string): Promise<void> {
  const app = new pg.Client({ connectionString: ctx.pipeline.sourceUrl })
  await app.connect()
  try {
    await app.query('BEGIN')
    await app.query(ORDER_NOW)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await ctx.pipeline.source(ORDER_NOW)
    const url = new URL(ctx.pipeline.sourceUrl)
    url.searchParams.set('options', `-c TimeZone=${connectionZone}`)
    await extract(ctx.pipeline.ctx, { ...extractOptions(ctx.pipeline.config), source: openSource(url.toString(), { schema: 'public' }) })
    await app.query('COMMIT')
  } finally {
    await app.end()
  }
  await ctx.pipeline.cycle()
}

export const TIME_ZONE_CASES: readonly HostileCase[] = [
  databaseZone('kiritimati', 'Pacific/Kiritimati'),
  databaseZone('los-angeles', 'America/Los_Angeles'),
  databaseZone('kathmandu', 'Asia/Kathmandu', { STARLINE_SOURCE_TIME_ZONE: 'Asia/Kathmandu' }),
  databaseZone('st-johns', 'America/St_Johns', { STARLINE_SOURCE_TIME_ZONE: 'America/St_Johns' }),
  processZone('tz-kolkata', 'TZ', 'Asia/Kolkata'),
  processZone('tz-honolulu', 'TZ', 'Pacific/Honolulu'),
  processZone('pgtz-chatham', 'PGTZ', 'Pacific/Chatham'),
  {
    id: 'tz-late-commit-session-ahead',
    category: 'time zones',
    does: 'commits a row late while the extract connection asks for UTC+14',
    expect: 'exact',
    run: (ctx) => lateCommit(ctx, 'Pacific/Kiritimati'),
  },
  {
    id: 'tz-late-commit-session-behind',
    category: 'time zones',
    does: 'commits a row late while the extract connection asks for UTC-11',
    expect: 'exact',
    run: (ctx) => lateCommit(ctx, 'Pacific/Pago_Pago'),
  },
  {
    id: 'tz-dst-fall-back',
    category: 'time zones',
    does: 'stamps rows in Europe/London across the October fall-back hour',
    todo: 'as written this stamps rows back to 2025 (a back-dated update: the late-rows limit in docs/late-rows.md); the repeated hour itself is tested live in test/integration/source/time-zones.test.ts',
    expect: 'exact',
    act: async (ctx) => {
      await ctx.pipeline.source(`ALTER DATABASE "${database(ctx)}" SET timezone = 'Europe/London'`)
      await ctx.pipeline.source("UPDATE sales_order SET units_sold = units_sold + 1, last_updated = '2025-10-26 01:30:00' WHERE sales_order_id <= 2")
    },
  },
]
