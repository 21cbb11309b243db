import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import { modelTriggers, relationsReadBy } from '../../../src/transform/model-inputs.js'

describe('relationsReadBy', () => {
  it('finds whole identifiers only, ignoring comments and longer names', () => {
    const sql = '-- reads department too\nselect staff_id, s.x from staff s join "current_design" d on true /* payment */'
    assert.deepEqual([...relationsReadBy(sql, ['staff', 'department', 'current_design', 'payment', 'design'])].sort(), ['current_design', 'staff'])
  })
})

describe('modelTriggers', () => {
  it('maps current_ views to their source table and keeps earlier models', () => {
    const sql = 'select * from current_staff join current_department using (department_id) join fact_x using (id)'
    assert.deepEqual(modelTriggers(sql, ['staff', 'department'], ['fact_x']).sort(), ['department', 'fact_x', 'staff'])
  })

  it("derives the ToteSys models' inputs from their SQL", async () => {
    const expected: Record<string, string[]> = {
      dim_location: ['address'],
      dim_currency: ['currency'],
      dim_design: ['design'],
      dim_payment_type: ['payment_type'],
      dim_transaction: ['transaction'],
      dim_staff: ['department', 'staff'],
      dim_counterparty: ['address', 'counterparty'],
      fact_sales_order: ['sales_order'],
      fact_purchase_order: ['purchase_order'],
      fact_payment: ['payment'],
      dim_date: ['fact_payment', 'fact_purchase_order', 'fact_sales_order'],
    }
    const sources = TOTESYS.sourceTables.map((t) => t.name)
    const earlier: string[] = []
    for (const model of TOTESYS.models) {
      const sql = await readFile(model.sqlFile, 'utf8')
      assert.deepEqual(modelTriggers(sql, sources, earlier).sort(), expected[model.table.name], model.table.name)
      earlier.push(model.table.name)
    }
  })
})
