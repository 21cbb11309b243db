/**
 * Leases: a stage's lease left by a dead or expired holder is taken over
 * (and what its run half-wrote is removed); one held by a live runner is
 * refused as retryable, naming the holder and the way out; a torn lease
 * file is stale, never a block for good.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { dataKey, leaseKey } from '../../src/lake/keys.js'
import type { CaseContext, CliCall, HostileCase } from './hostile-case.js'

/** A pid no process has (above Linux's pid_max default). */
const DEAD_PID = 4_194_399
const HOUR = 3_600_000
const LEFTOVER_RUN = '20241119T080000000Z'

type LeaseStage = 'extract' | 'transform'
const zoneOf = (stage: LeaseStage) => (stage === 'extract' ? 'ingestion' : 'processed')

function writeLease(ctx: CaseContext, stage: LeaseStage, body: string): string {
  const path = ctx.file(zoneOf(stage), leaseKey(stage))
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, body)
  ctx.saved.set('lease', path)
  return path
}

function record(stage: LeaseStage, holder: { host: string; pid: number }, expiresInMs: number, runId = LEFTOVER_RUN): string {
  const now = Date.now()
  return JSON.stringify({ stage, runId, ...holder, acquiredAt: new Date(now - HOUR).toISOString(), expiresAt: new Date(now + expiresInMs).toISOString() })
}

/** A lease the next run must take over: it converges as if the lease were not there. */
function stale(name: string, stage: LeaseStage, does: string, body: () => string): HostileCase {
  return {
    id: `lease-${stage}-${name}`,
    category: 'leases',
    does: `leaves a ${stage} lease ${does}`,
    start: stage === 'extract' ? 'cycled' : 'extracted',
    expect: 'recovered',
    act: async (ctx) => void writeLease(ctx, stage, body()),
    run: (ctx) => ctx.pipeline.cycle().then(() => undefined),
  }
}

/** A lease a live runner holds: refused as retryable; once it is gone (finished, or removed by hand), the rerun converges. */
function live(name: string, stage: LeaseStage, does: string, body: () => string, cli?: CliCall): HostileCase {
  return {
    id: `lease-${stage}-${name}`,
    category: 'leases',
    does: `has a live runner hold the ${stage} lease (${does})`,
    start: stage === 'extract' ? 'cycled' : 'extracted',
    expect: 'refused',
    act: async (ctx) => void writeLease(ctx, stage, body()),
    ...(cli ? { cli } : {}),
    refusal: {
      message: new RegExp(`Cannot start ${stage} run: run ${LEFTOVER_RUN} \\(host \\S+, pid \\d+\\) has held the ${stage} lease since .*Wait for it to finish; .*remove "_leases/${stage}\\.json"`),
      retryable: true,
    },
    fix: async (ctx) => rmSync(ctx.saved.get('lease') as string),
  }
}

export const LEASE_CASES: readonly HostileCase[] = [
  stale('dead-pid', 'extract', 'whose holder (this host) is dead', () => record('extract', { host: hostname(), pid: DEAD_PID }, HOUR)),
  stale('dead-pid', 'transform', 'whose holder (this host) is dead', () => record('transform', { host: hostname(), pid: DEAD_PID }, HOUR)),
  stale('expired-elsewhere', 'extract', 'of another host, expired', () => record('extract', { host: 'runner-b', pid: 1 }, -1000)),
  stale('expired-elsewhere', 'transform', 'of another host, expired', () => record('transform', { host: 'runner-b', pid: 1 }, -1000)),
  stale('expired-live-pid', 'extract', 'expired though its pid (this host) lives', () => record('extract', { host: hostname(), pid: process.ppid }, -1000)),
  stale('torn', 'extract', 'cut in the middle of its JSON', () => record('extract', { host: 'runner-b', pid: 1 }, HOUR).slice(0, 30)),
  stale('empty', 'transform', 'as an empty file', () => ''),
  stale('null', 'extract', 'holding JSON null', () => 'null'),
  stale('no-expiry', 'transform', 'with no expiry', () => JSON.stringify({ stage: 'transform', runId: LEFTOVER_RUN, host: 'runner-b', pid: 1 })),
  {
    id: 'lease-extract-dead-run-leftovers',
    category: 'leases',
    does: 'leaves a dead extract lease and the CSV objects its run half-wrote',
    start: 'cycled',
    expect: 'recovered',
    act: async (ctx) => {
      writeLease(ctx, 'extract', record('extract', { host: hostname(), pid: DEAD_PID }, HOUR))
      for (const table of ['sales_order', 'payment']) {
        const path = ctx.file('ingestion', dataKey(table, LEFTOVER_RUN, 'csv'))
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, 'sales_order_id,units_sold\n1,')
      }
    },
    run: async (ctx) => {
      await ctx.pipeline.cycle()
      if (existsSync(ctx.file('ingestion', dataKey('sales_order', LEFTOVER_RUN, 'csv')))) throw new Error('the dead run\'s half-written object is still there')
    },
  },
  {
    id: 'lease-extract-takeover-claims',
    category: 'leases',
    does: 'leaves a dead extract lease and takeover claims of an earlier version',
    start: 'cycled',
    expect: 'recovered',
    act: async (ctx) => {
      const path = writeLease(ctx, 'extract', record('extract', { host: hostname(), pid: DEAD_PID }, HOUR))
      writeFileSync(`${path}.takeover-0a1b2c`, 'claim')
      writeFileSync(`${path}.takeover-3d4e5f`, 'claim')
    },
    run: (ctx) => ctx.pipeline.cycle().then(() => undefined),
  },
  live('held-elsewhere', 'extract', 'another host, not expired', () => record('extract', { host: 'runner-b', pid: 1 }, HOUR)),
  live('held-elsewhere', 'transform', 'another host, not expired', () => record('transform', { host: 'runner-b', pid: 1 }, HOUR)),
  live('held-here', 'extract', 'a live process on this host', () => record('extract', { host: hostname(), pid: process.ppid }, HOUR)),
  live('held-here', 'transform', 'a live process on this host', () => record('transform', { host: hostname(), pid: process.ppid }, HOUR)),
  live('held-cli-exit-75', 'extract', 'seen by the CLI', () => record('extract', { host: 'runner-b', pid: 1 }, HOUR), {
    args: ['run'],
    status: 75,
    stderr: /^starline: Cannot start extract run: run \S+ \(host runner-b, pid 1\) has held the extract lease since .*remove "_leases\/extract\.json"/,
  }),
]
