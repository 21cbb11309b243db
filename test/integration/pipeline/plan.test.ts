/**
 * Dry-run plans on a real source (embedded PostgreSQL) and lake: a plan
 * fails where the run would fail, and writes nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { listAll } from '../../../src/lake/object-store.js'
import { planExtract } from '../../../src/pipeline/plan.js'
import { extractOptions } from '../../../src/runtime/pipeline-setup.js'
import { SchemaDriftError } from '../../../src/source/schema-drift.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

describe('planExtract', () => {
  it('refuses a dropped source column as the extract would, and plans it once the change is accepted', async () => {
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    await pipeline.cycle()
    await pipeline.source('ALTER TABLE design DROP COLUMN file_name')
    const lakeBefore = await listAll(pipeline.ctx.ingestion, '')
    await assert.rejects(planExtract(pipeline.ctx, extractOptions(pipeline.config)), (error: unknown) => {
      assert.ok(error instanceof SchemaDriftError, String(error))
      assert.match(error.message, /"design"\."file_name" was removed/)
      assert.match(error.message, /--accept-schema-change/)
      return true
    })
    const accepted = await planExtract(pipeline.ctx, { ...extractOptions(pipeline.config), acceptSchemaChange: true })
    assert.deepEqual(accepted.schemaChanges.map((c) => [c.table, c.column, c.kind]), [['design', 'file_name', 'removed']])
    assert.deepEqual(await listAll(pipeline.ctx.ingestion, ''), lakeBefore, 'a plan writes nothing, not even a failure record')
  })
})
