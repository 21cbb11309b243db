import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildSchemaName } from '../../../src/pipeline/rebuild.js'
import { sideSchemaName } from '../../../src/warehouse/table-ddl.js'

describe('rebuild side schema names', () => {
  // Cut to 63 bytes, "<schema>_starline_rebuild" was the target itself, and its DROP removed the live warehouse.
  for (const schema of ['w'.repeat(63), 'w'.repeat(55), 'é'.repeat(31), 'public']) {
    it(`keeps the build and retired schemas of a ${Buffer.byteLength(schema)}-byte schema apart from it and from each other`, () => {
      const names = [schema, buildSchemaName(schema), sideSchemaName('starline_retired', schema)]
      assert.equal(new Set(names).size, 3)
      for (const name of names.slice(1)) assert.ok(Buffer.byteLength(name) <= 63, name)
    })
  }

  it('gives one schema the same build schema every time, so a killed rebuild is cleared by the next', () => {
    assert.equal(buildSchemaName('analytics'), buildSchemaName('analytics'))
    assert.notEqual(buildSchemaName('analytics'), buildSchemaName('analytics2'))
  })
})
