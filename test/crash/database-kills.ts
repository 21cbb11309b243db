/**
 * Database kills: the source and the warehouse PostgreSQL (each on its own
 * server) SIGKILLed with every backend while `starline run` is in a
 * statement: the first extract's big COPY, an incremental extract, the load
 * transaction's COPY, the ledger read. The run must stop with exit status 75
 * (retry later) and one line, never a stack; after the server restarts on
 * the same data directory (crash recovery), a rerun must end where a clean
 * run ends, row for row.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedPostgresServer } from '../../src/runtime/embedded-postgres-server.js'
import type { IntegrityReport } from '../support/integrity-report.js'
import pg from 'pg'
import { assertBuilt, runStarline, startStarline, type ChildResult } from './cli-child.js'
import { pipelineState, rowDifference, type PipelineState } from './crash-state.js'
import { CrashWorld, type CrashPipeline } from './crash-world.js'

/** Big enough that the first extract's COPY and the load transaction last a while; small enough for CI. */
const SCALE = 0.5
const EXIT_RETRYABLE = 75

/** A backend of the pipeline's database, as pg_stat_activity shows it. */
interface Backend {
  readonly state: string
  readonly query: string
  /** Whether its transaction has written (has a transaction id). */
  readonly writing: boolean
  readonly inTransaction: boolean
}

interface DatabaseKill {
  readonly id: string
  readonly server: 'source' | 'warehouse'
  /** `first`: an empty lake and warehouse; `incremental`: after one clean run and a simulated day. */
  readonly scenario: 'first' | 'incremental'
  /** The moment to kill: the first poll (every few ms) at which a backend of the pipeline's database matches. */
  readonly when: (backend: Backend) => boolean
  readonly detail: string
}

const copying = (b: Backend): boolean => b.state === 'active' && /^\s*COPY/i.test(b.query)

const KILLS: readonly DatabaseKill[] = [
  { id: 'source-killed-in-first-extract-copy', server: 'source', scenario: 'first', when: copying, detail: "the source server killed during the first extract's COPY" },
  { id: 'source-killed-in-incremental-snapshot', server: 'source', scenario: 'incremental', when: (b) => b.inTransaction, detail: "the source server killed while an incremental extract's snapshot is open" },
  { id: 'warehouse-killed-in-load-copy', server: 'warehouse', scenario: 'first', when: (b) => b.writing && copying(b), detail: "the warehouse server killed during a COPY of the first load's transaction" },
  { id: 'warehouse-killed-in-load-transaction', server: 'warehouse', scenario: 'incremental', when: (b) => b.writing && /^\s*(INSERT|UPDATE|DELETE|COPY|CREATE TEMP)/i.test(b.query), detail: 'the warehouse server killed inside an incremental load transaction' },
  { id: 'warehouse-killed-before-load', server: 'warehouse', scenario: 'first', when: (b) => !b.writing && /_starline_loads/.test(b.query), detail: "the warehouse server killed as a run reads the ledger" },
]

export function describeDatabaseKills(report: IntegrityReport): void {
  describe('a database killed (SIGKILL) mid-statement, restarted, then the run again', () => {
    let world: CrashWorld
    let clean: { first: PipelineState; second: PipelineState }
    let afterFirst: CrashPipeline

    before(async () => {
      assertBuilt()
      world = await CrashWorld.start(SCALE, { separateWarehouse: true })
      await world.dayAfter('day0', 'day1')
      afterFirst = await world.pipeline({ sourceTemplate: 'day0' }, { STARLINE_LOG_LEVEL: 'warn' })
      assertSucceeded(await runStarline(['run'], afterFirst.env), 'the clean first run')
      const first = await pipelineState(afterFirst)
      await world.freezeWarehouse(afterFirst, 'after_first')
      const second = await world.pipeline({ sourceTemplate: 'day1', warehouseTemplate: 'after_first', lakeFrom: afterFirst.lakeDir })
      assertSucceeded(await runStarline(['run'], second.env), 'the clean second run')
      clean = { first, second: await pipelineState(second) }
      await second.dispose()
    })
    after(async () => {
      await afterFirst?.dispose()
      await world?.stop()
    })

    const only = process.env.STARLINE_CRASH_ONLY ? new RegExp(process.env.STARLINE_CRASH_ONLY) : undefined
    for (const kill of KILLS.filter((k) => only?.test(`db-${k.id}`) ?? true)) {
      it(`stops with status 75 and one line, then converges, when ${kill.detail}`, async () => {
        const pipeline =
          kill.scenario === 'first'
            ? await world.pipeline({ sourceTemplate: 'day0' })
            : await world.pipeline({ sourceTemplate: 'day1', warehouseTemplate: 'after_first', lakeFrom: afterFirst.lakeDir })
        const server = kill.server === 'source' ? world.sourceServer : world.warehouseServer
        const database = new URL(kill.server === 'source' ? pipeline.sourceUrl : pipeline.warehouseUrl).pathname.slice(1)
        let survived = false
        try {
          const watcher = new pg.Client({ connectionString: server.url('postgres') })
          watcher.on('error', () => {}) // it dies with the server
          await watcher.connect()
          const run = startStarline(['run'], pipeline.env)
          const caught = await killWhen(server, watcher, database, kill.when, run.done)
          const failed = await run.done
          await watcher.end().catch(() => {})
          assert.ok(caught, `the run ended before the moment to kill came: ${failed.stderr.slice(-800)}`)
          await server.restart()
          assertRetryableOneLine(failed, kill.id)

          const rerun = await runStarline(['run'], pipeline.env)
          assertSucceeded(rerun, 'the rerun after the restart')
          const expected = kill.scenario === 'first' ? clean.first : clean.second
          const actual = withoutFailureRecords(await pipelineState(pipeline))
          const { lost, doubled } = rowDifference(expected, actual)
          report.addRows(lost, doubled)
          assert.equal(lost + doubled, 0, `${lost} rows lost, ${doubled} doubled`)
          assert.deepEqual(actual, expected)
          survived = true
          report.addCase({ id: `db-${kill.id}`, category: 'database kill', outcome: 'recovered', detail: `${kill.detail} (${caught.slice(0, 40).replace(/\s+/g, ' ')}...): exit 75, one line; the rerun equals a clean run` })
        } finally {
          report.addFault(survived)
          await pipeline.dispose()
        }
      })
    }
  })
}

/**
 * Polls the pipeline's database's backends (every few ms, on one open
 * connection) and kills the server the first time one matches `when`.
 * Returns the statement that was running, or undefined if the run ended first.
 */
async function killWhen(
  server: EmbeddedPostgresServer,
  watcher: pg.Client,
  database: string,
  when: (backend: Backend) => boolean,
  ended: Promise<unknown>,
): Promise<string | undefined> {
  let over = false
  void ended.then(() => (over = true))
  while (!over) {
    const { rows } = await watcher.query<Backend>(
      `SELECT state, query, backend_xid IS NOT NULL AS writing, xact_start IS NOT NULL AS "inTransaction"
         FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    )
    const match = rows.find(when)
    if (match) {
      await server.kill()
      return match.query
    }
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  return undefined
}

/**
 * The state without the failed run's failure record and alert incident (`_failures/`, `_alerts/`):
 * they are kept on purpose, for `starline status` and the alert history. Fails if there are none.
 */
function withoutFailureRecords(state: PipelineState): PipelineState {
  const kept = (key: string): boolean => !key.startsWith('_failures/') && !key.startsWith('_alerts/')
  const all = Object.values(state.files).flat()
  assert.ok(all.some((key) => key.startsWith('_failures/')), 'the failed run left a failure record')
  return { ...state, files: Object.fromEntries(Object.entries(state.files).map(([zone, keys]) => [zone, keys.filter(kept)])) }
}

function assertSucceeded(result: ChildResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed (${result.code ?? result.signal}): ${plainLines(result).join('\n')}`)
}

/** The lines of stderr that are not the JSON log: the CLI's own message, and anything that escaped it (a stack). */
function plainLines(result: ChildResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'))
}

function assertRetryableOneLine(result: ChildResult, id: string): void {
  const lines = plainLines(result)
  assert.equal(result.code, EXIT_RETRYABLE, `${id}: exit ${result.code ?? result.signal}, not 75: ${lines.join('\n')}`)
  assert.equal(lines.length, 1, `${id}: one line expected on stderr, got:\n${lines.join('\n')}`)
  assert.match(lines[0]!, /^starline: \S/, `${id}: the line is the CLI's message`)
  assert.doesNotMatch(result.stderr, /^\s+at /m, `${id}: a stack trace reached stderr`)
  assert.doesNotMatch(lines[0]!, /starline-local|postgres:\/\/[^@\s]*:[^@\s]*@/, `${id}: a password reached stderr`)
}
