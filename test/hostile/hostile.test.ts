/**
 * The hostile-input suite: every case of the tables in this folder, each on
 * a fresh source, lake and warehouse, run a few at a time against one
 * embedded PostgreSQL. It writes `hostile.json` for the integrity report.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { IntegrityReport } from '../support/integrity-report.js'
import { PipelineFixture, type FrozenPipeline } from '../support/pipeline-fixture.js'
import { CATEGORIES } from './hostile-case.js'
import { HOSTILE_CASES } from './hostile-cases.js'
import { HOSTILE_SCALE, runHostileCase } from './run-hostile-case.js'

/** `STARLINE_HOSTILE_ONLY=regex` runs only the cases whose id matches (while writing a case). */
const only = process.env.STARLINE_HOSTILE_ONLY ? new RegExp(process.env.STARLINE_HOSTILE_ONLY) : undefined
const cases = HOSTILE_CASES.filter((c) => only === undefined || only.test(c.id))

const fixture = new PipelineFixture()
const report = new IntegrityReport('hostile')
let cycled: FrozenPipeline
before(async () => {
  await fixture.start()
  // Most cases start after one full cycle: they start from copies of this one.
  const first = await fixture.pipeline({ scale: HOSTILE_SCALE })
  await first.cycle()
  cycled = await fixture.freeze(first)
})
after(async () => {
  await fixture.stop()
  if (!only) report.write()
})

it('has at least 100 distinct cases that count, in every category', { skip: only ? 'STARLINE_HOSTILE_ONLY is set' : undefined }, () => {
  const ids = HOSTILE_CASES.map((c) => c.id)
  assert.equal(new Set(ids).size, ids.length, 'case ids are unique')
  const counted = HOSTILE_CASES.filter((c) => !c.todo)
  assert.ok(counted.length >= 100, `${counted.length} cases count`)
  for (const category of CATEGORIES) assert.ok(counted.some((c) => c.category === category), `${category} has cases`)
})

for (const category of CATEGORIES) {
  describe(category, { concurrency: 3 }, () => {
    for (const c of cases.filter((h) => h.category === category)) {
      // A case that hangs (a lock waited on for ever) fails on its own instead of stalling the suite.
      it(`${c.id}: ${c.does} (${c.expect})`, { timeout: 180_000, ...(c.todo ? { todo: c.todo } : {}) }, async () => {
        const injected = !c.todo && (c.category === 'faults' || c.expect === 'recovered')
        try {
          const result = await runHostileCase(fixture, c, cycled)
          if (c.todo) return
          report.addCase({ id: c.id, category: c.category, outcome: result.outcome, detail: result.detail })
          report.addRows(result.rows.lost, result.rows.doubled)
          if (injected) report.addFault(true)
        } catch (error) {
          if (injected) report.addFault(false)
          throw error
        }
      })
    }
  })
}
