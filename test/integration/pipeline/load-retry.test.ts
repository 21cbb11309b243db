/**
 * A load whose commit landed but whose answer was lost (the connection
 * dropped after COMMIT): the retry finds the run in the ledger. Real
 * PostgreSQL warehouse; only the lost answer is made up.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { extract } from '../../../src/pipeline/extract.js'
import { load } from '../../../src/pipeline/load.js'
import { transform } from '../../../src/pipeline/transform.js'
import { extractOptions, loadOptions, openConfiguredWarehouse } from '../../../src/runtime/pipeline-setup.js'
import { WarehouseUnreachableError } from '../../../src/warehouse/errors.js'
import type { Warehouse } from '../../../src/warehouse/warehouse.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

describe('load after a lost commit acknowledgement', () => {
  it("reports the rows the run committed, read from the ledger's per-table rows, not 0", async () => {
    const pipeline = await fixture.pipeline({ scale: 0.05 })
    await extract(pipeline.ctx, extractOptions(pipeline.config))
    await transform(pipeline.ctx)
    const warehouse = await openConfiguredWarehouse(pipeline.config)
    let answersLost = 0
    // The first loadRun commits; its answer never arrives (a retryable connection error, as pg reports one).
    const lossy: Warehouse = {
      capabilities: warehouse.capabilities,
      ensureTables: (schema, tables, options) => warehouse.ensureTables(schema, tables, options),
      checkAgainstLedger: (schema, tables) => warehouse.checkAgainstLedger(schema, tables),
      loadedRuns: (schema, range) => warehouse.loadedRuns(schema, range),
      newestLoadedRun: (schema) => warehouse.newestLoadedRun(schema),
      ledgerDetail: (schema, facts) => warehouse.ledgerDetail!(schema, facts),
      close: () => warehouse.close(),
      loadRun: async (plan) => {
        const result = await warehouse.loadRun(plan)
        if (answersLost++ === 0) throw new WarehouseUnreachableError('Connection terminated unexpectedly', { retryable: true })
        return result
      },
    }
    try {
      const summary = await load({ ...pipeline.ctx, retry: { retries: 2, baseDelayMs: 10 } }, loadOptions(pipeline.config, lossy))
      assert.equal(answersLost, 2, 'the retry found the run in the ledger')
      const ledger = await pipeline.warehouse<{ table_name: string; rows: string }>('SELECT table_name, rows::text AS rows FROM _starline_load_tables ORDER BY table_name')
      assert.ok(ledger.length > 0)
      assert.deepEqual(
        summary.runs[0]!.tables.map((t) => [t.table, String(t.rows)]).sort(),
        ledger.map((r) => [r.table_name, r.rows]),
      )
      assert.equal(summary.rows, ledger.reduce((sum, r) => sum + Number(r.rows), 0))
    } finally {
      await warehouse.close()
    }
  })
})
