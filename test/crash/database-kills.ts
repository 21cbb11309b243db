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
import { assertBuilt, runStarline, startStarline, type ChildResult } from './cli-child.js'
import { pipelineState, rowDifference, type PipelineState } from './crash-state.js'
import { CrashWorld, query, type CrashPipeline } from './crash-world.js'
import { eventLabel } from './kill-plan.js'

/** Big enough that the first extract's COPY and the load's COPY take a while; small enough for CI. */
const SCALE = 0.3
const EXIT_RETRYABLE = 75

interface DatabaseKill {
  readonly id: string
  readonly server: 'source' | 'warehouse'
  /** `first`: an empty lake and warehouse; `incremental`: after one clean run and a simulated day. */
  readonly scenario: 'first' | 'incremental'
  /** The child's log event after which the statement to kill is awaited. */
  readonly after: string
  /** A statement of the pipeline's database that must be running when the server is killed (undefined: kill at the event). */
  readonly statement?: RegExp
  readonly detail: string
}

const KILLS: readonly DatabaseKill[] = [
  { id: 'source-killed-in-first-extract-copy', server: 'source', scenario: 'first', after: 'source snapshot opened', statement: /^COPY/i, detail: "the source server killed during the first extract's COPY" },
  { id: 'source-killed-opening-snapshot', server: 'source', scenario: 'incremental', after: 'lease taken (extract)', detail: 'the source server killed as an incremental extract opens its snapshot' },
  { id: 'source-killed-in-incremental-copy', server: 'source', scenario: 'incremental', after: 'source snapshot opened', statement: /^COPY/i, detail: "the source server killed during an incremental extract's COPY" },
  { id: 'warehouse-killed-in-load-copy', server: 'warehouse', scenario: 'first', after: 'loaded table (dim_date)', statement: /^COPY/i, detail: "the warehouse server killed during the load transaction's COPY of a fact table" },
  { id: 'warehouse-killed-in-load-transaction', server: 'warehouse', scenario: 'incremental', after: 'loading run', detail: 'the warehouse server killed as the load transaction begins' },
  { id: 'warehouse-killed-before-load', server: 'warehouse', scenario: 'first', after: 'transform run committed', detail: 'the warehouse server killed between transform and load (ledger read)' },
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

    for (const kill of KILLS) {
      it(`stops with status 75 and one line, then converges, when ${kill.detail}`, async () => {
        const pipeline =
          kill.scenario === 'first'
            ? await world.pipeline({ sourceTemplate: 'day0' })
            : await world.pipeline({ sourceTemplate: 'day1', warehouseTemplate: 'after_first', lakeFrom: afterFirst.lakeDir })
        const server = kill.server === 'source' ? world.sourceServer : world.warehouseServer
        const database = new URL(kill.server === 'source' ? pipeline.sourceUrl : pipeline.warehouseUrl).pathname.slice(1)
        let survived = false
        try {
          const run = startStarline(['run'], pipeline.env)
          const seen = await run.when((event) => eventLabel(event) === kill.after)
          assert.ok(seen, `the run reached "${kill.after}" before it ended: ${(await run.done).stderr.slice(-500)}`)
          if (kill.statement) await statementRunning(server, database, kill.statement)
          await server.kill()
          const failed = await run.done
          await server.restart()
          assertRetryableOneLine(failed, kill.id)

          const rerun = await runStarline(['run'], pipeline.env)
          assertSucceeded(rerun, 'the rerun after the restart')
          const expected = kill.scenario === 'first' ? clean.first : clean.second
          const actual = await pipelineState(pipeline)
          const { lost, doubled } = rowDifference(expected, actual)
          report.addRows(lost, doubled)
          assert.equal(lost + doubled, 0, `${lost} rows lost, ${doubled} doubled`)
          assert.deepEqual(actual, expected)
          survived = true
          report.addCase({ id: `db-${kill.id}`, category: 'database kill', outcome: 'recovered', detail: `${kill.detail}: exit 75, one line; the rerun equals a clean run` })
        } finally {
          report.addFault(survived)
          await pipeline.dispose()
        }
      })
    }
  })
}

/** Waits (polling every few ms) until a statement matching `statement` runs in `database`. */
async function statementRunning(server: EmbeddedPostgresServer, database: string, statement: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const running = await query<{ query: string }>(
      server.url('postgres'),
      "SELECT query FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()",
      [database],
    )
    if (running.some((row) => statement.test(row.query.trimStart()))) return
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  throw new Error(`no statement matching ${statement} ran in ${database} within 30 s`)
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
