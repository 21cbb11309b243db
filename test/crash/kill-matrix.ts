/**
 * The crash matrix: `starline run` SIGKILLed at every stage boundary of a
 * first and an incremental run, and at a seeded random schedule between
 * them; after each kill a rerun must end where one clean run ends: the same
 * lake (every file, every manifest) and the same warehouse, row for row.
 * Some first-run kills then get a simulated day and one more run, which must
 * end where the clean pipeline's second run ends.
 */
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { IntegrityReport } from '../support/integrity-report.js'
import { assertBuilt, runStarline, startStarline, type ChildResult, type LogEvent } from './cli-child.js'
import { pipelineState, rowDifference, type PipelineState } from './crash-state.js'
import { CrashWorld, simulateDay, type CrashPipeline } from './crash-world.js'
import { eventLabel, killPlan, type KillPoint, type Scenario } from './kill-plan.js'

export interface MatrixSettings {
  readonly scale: number
  readonly total: number
  readonly seed: number
  readonly concurrency: number
  readonly dayAfterEvery: number
  /** Only the kill points whose id matches (to replay one point of a failed run). */
  readonly only?: RegExp
}

/** Settings from the environment (the soak sets them), with the CI defaults. */
export function matrixSettings(env: NodeJS.ProcessEnv = process.env): MatrixSettings {
  const number = (name: string, fallback: number): number => {
    const value = env[name]
    if (value === undefined || value === '') return fallback
    const parsed = Number(value)
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(value)}`)
    return parsed
  }
  return {
    scale: number('STARLINE_CRASH_SCALE', 0.02),
    total: number('STARLINE_CRASH_KILLS', 110),
    seed: number('STARLINE_CRASH_SEED', 20261203),
    concurrency: number('STARLINE_CRASH_CONCURRENCY', 3),
    dayAfterEvery: number('STARLINE_CRASH_DAY_AFTER_EVERY', 4),
    ...(env.STARLINE_CRASH_ONLY ? { only: new RegExp(env.STARLINE_CRASH_ONLY) } : {}),
  }
}

/** A run that must succeed: exit 0 and not one error line. */
export function assertClean(result: ChildResult, what: string): void {
  assert.equal(result.code, 0, `${what} failed (${result.code ?? result.signal}): ${result.stderr.split('\n').filter((l) => !l.includes('"debug"')).join('\n')}`)
  assert.deepEqual(result.events.filter((e) => e.level === 'error').map((e) => e.message), [], `${what} logged errors`)
}

interface Clean {
  readonly logs: Record<Scenario, readonly LogEvent[]>
  readonly first: PipelineState
  readonly second: PipelineState
  /** The lake after the first clean run (the incremental scenario starts from a copy). */
  readonly lakeAfterFirst: string
}

/** Files under the scratch dir: a killed run's temporary downloads (documented leftovers, not lake objects). */
function scratchLeftovers(pipeline: CrashPipeline): number {
  const dir = join(pipeline.lakeDir, '.scratch')
  return existsSync(dir) ? readdirSync(dir).length : 0
}

export function describeKillMatrix(report: IntegrityReport, settings: MatrixSettings = matrixSettings()): void {
  describe(`starline run killed (SIGKILL) at ${settings.total} points, then run again`, async () => {
    assertBuilt()
    const world = await CrashWorld.start(settings.scale)
    const frozen = mkdtempSync(join(tmpdir(), 'starline-crash-frozen-'))
    const missed: string[] = []
    let scratchLeft = 0
    let plan: KillPoint[] = []

    // Registered before anything else can fail: a server left running would keep the test process alive.
    after(async () => {
      await world.stop()
      rmSync(frozen, { recursive: true, force: true })
      report.addCase({
        id: 'matrix-summary',
        category: 'process kill',
        outcome: 'recovered',
        detail:
          `${plan.length - missed.length} of ${plan.length} planned kills landed (seed ${settings.seed}, scale ${settings.scale}); ` +
          `${missed.length} runs finished before their kill; ${scratchLeft} scratch entries left by killed runs`,
      })
    })

    const clean = await cleanRuns(world, frozen).catch(async (error: unknown) => {
      await world.stop() // the suite fails before its hooks could run
      throw error
    })
    plan = killPlan(clean.logs, { total: settings.total, seed: settings.seed, dayAfterEvery: settings.dayAfterEvery }).filter(
      (point) => settings.only?.test(point.id) ?? true,
    )

    describe('kill points', { concurrency: settings.concurrency }, () => {
      for (const point of plan) {
        it(`ends as the clean run does when killed at ${point.id}`, async () => {
          const pipeline = await world.pipeline(
            point.scenario === 'first' ? { sourceTemplate: 'day0' } : { sourceTemplate: 'day1', warehouseTemplate: 'after_first', lakeFrom: clean.lakeAfterFirst },
          )
          try {
            const killed = await killAt(pipeline, point)
            if (!killed) {
              missed.push(point.id)
              return
            }
            report.addKillPoint()
            const rerun = await runStarline(['run'], pipeline.env)
            assertClean(rerun, 'the rerun after the kill')
            scratchLeft += scratchLeftovers(pipeline)
            const expected = point.scenario === 'first' ? clean.first : clean.second
            await compare(report, point, pipeline, expected, 'rerun')
            if (point.dayAfter) {
              await simulateDay(pipeline.sourceUrl)
              assertClean(await runStarline(['run'], pipeline.env), 'the run after a simulated day')
              await compare(report, point, pipeline, clean.second, 'day after')
            }
            report.addCase({
              id: point.id,
              category: `kill in ${point.stage}`,
              outcome: 'recovered',
              detail: `${point.kind} kill ${point.delayMs} ms after "${point.label}" in a ${point.scenario} run; the rerun${point.dayAfter ? ' and a day later' : ''} equals the clean run`,
            })
          } finally {
            await pipeline.dispose()
          }
        })
      }
    })
  })
}

/** The clean baselines: a first run, then (after a simulated day) a second; their logs give the boundaries. */
async function cleanRuns(world: CrashWorld, frozen: string): Promise<Clean> {
  const day1 = world.dayAfter('day0', 'day1')
  const pipeline = await world.pipeline({ sourceTemplate: 'day0' })
  const first = await runStarline(['run'], pipeline.env)
  assertClean(first, 'the clean first run')
  const firstState = await pipelineState(pipeline)
  await world.freezeWarehouse(pipeline, 'after_first')
  const lakeAfterFirst = join(frozen, 'lake')
  cpSync(pipeline.lakeDir, lakeAfterFirst, { recursive: true })
  rmSync(join(lakeAfterFirst, '.scratch'), { recursive: true, force: true })
  await day1
  await simulateDay(pipeline.sourceUrl)
  const second = await runStarline(['run'], pipeline.env)
  assertClean(second, 'the clean second run')
  const secondState = await pipelineState(pipeline)
  await pipeline.dispose()
  assert.ok(secondState.manifests.ingestion!.length === 2, 'the simulated day gave the second run something to extract')
  return { logs: { first: first.events, incremental: second.events }, first: firstState, second: secondState, lakeAfterFirst }
}

/** Runs `starline run` and SIGKILLs it at the point; false when the run ended before the kill landed. */
export async function killAt(pipeline: CrashPipeline, point: KillPoint): Promise<boolean> {
  const run = startStarline(['run'], pipeline.env)
  const seen = new Map<string, number>()
  const event = await run.when((e) => {
    const label = eventLabel(e)
    const n = seen.get(label) ?? 0
    seen.set(label, n + 1)
    return label === point.label && n === point.occurrence
  })
  if (event !== undefined) {
    if (point.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, point.delayMs))
    run.child.kill('SIGKILL')
  }
  const result = await run.done
  if (result.signal === 'SIGKILL') return true
  assertClean(result, `the run to be killed at ${point.id} (it ended first)`)
  return false
}

export async function compare(report: IntegrityReport, point: KillPoint, pipeline: CrashPipeline, expected: PipelineState, when: string): Promise<void> {
  const actual = await pipelineState(pipeline)
  const { lost, doubled } = rowDifference(expected, actual)
  report.addRows(lost, doubled)
  assert.equal(lost + doubled, 0, `${point.id} (${when}): ${lost} rows lost, ${doubled} doubled`)
  assert.deepEqual(actual.files, expected.files, `${point.id} (${when}): the lake's files differ from the clean run's`)
  assert.deepEqual(actual.manifests, expected.manifests, `${point.id} (${when}): the manifests differ from the clean run's`)
  assert.deepEqual(actual.warehouse, expected.warehouse, `${point.id} (${when}): the warehouse differs from the clean run's`)
}
