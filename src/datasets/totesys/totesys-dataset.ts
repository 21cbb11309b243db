/**
 * ToteSys: 11 OLTP tables -> three star schemas. The models run in this
 * order; facts come before dim_date because the calendar is built from the
 * dates the facts refer to. (Loading reverses that: dimensions first.)
 */
import type { Dataset, ModelSpec } from '../../schema/dataset.js'
import type { TableSpec } from '../../schema/table-spec.js'
import {
  DIM_COUNTERPARTY,
  DIM_CURRENCY,
  DIM_DATE,
  DIM_DESIGN,
  DIM_LOCATION,
  DIM_PAYMENT_TYPE,
  DIM_STAFF,
  DIM_TRANSACTION,
  FACT_PAYMENT,
  FACT_PURCHASE_ORDER,
  FACT_SALES_ORDER,
} from './star-schema.js'
import { TOTESYS_SOURCE_TABLES } from './source-tables.js'
import { ISO_CURRENCY } from './iso-currency.js'
import { TOTESYS_CHECKS } from './checks.js'

/** A model is its table's contract and the SQL file named after it; its inputs are read from the SQL. */
function model(table: TableSpec): ModelSpec {
  return { table, sqlFile: new URL(`./models/${table.name}.sql`, import.meta.url) }
}

export const TOTESYS: Dataset = {
  name: 'totesys',
  sourceTables: TOTESYS_SOURCE_TABLES,
  seeds: [ISO_CURRENCY],
  checks: TOTESYS_CHECKS,
  // The reference tables: a few hundred rows each (design grows with scale).
  reconcileTables: ['address', 'counterparty', 'currency', 'department', 'design', 'staff', 'payment_type'],
  models: [
    model(DIM_LOCATION),
    model(DIM_CURRENCY),
    model(DIM_DESIGN),
    model(DIM_PAYMENT_TYPE),
    model(DIM_TRANSACTION),
    model(DIM_STAFF),
    model(DIM_COUNTERPARTY),
    model(FACT_SALES_ORDER),
    model(FACT_PURCHASE_ORDER),
    model(FACT_PAYMENT),
    model(DIM_DATE),
  ],
}
