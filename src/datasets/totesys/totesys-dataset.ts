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

function model(table: TableSpec, triggers: readonly string[]): ModelSpec {
  return { table, triggers, sqlFile: new URL(`./models/${table.name}.sql`, import.meta.url) }
}

export const TOTESYS: Dataset = {
  name: 'totesys',
  sourceTables: TOTESYS_SOURCE_TABLES,
  seeds: [ISO_CURRENCY],
  checks: TOTESYS_CHECKS,
  // The reference tables: a few hundred rows each (design grows with scale).
  reconcileTables: ['address', 'counterparty', 'currency', 'department', 'design', 'staff', 'payment_type'],
  models: [
    model(DIM_LOCATION, ['address']),
    model(DIM_CURRENCY, ['currency']),
    model(DIM_DESIGN, ['design']),
    model(DIM_PAYMENT_TYPE, ['payment_type']),
    model(DIM_TRANSACTION, ['transaction']),
    model(DIM_STAFF, ['staff', 'department']),
    model(DIM_COUNTERPARTY, ['counterparty', 'address']),
    model(FACT_SALES_ORDER, ['sales_order']),
    model(FACT_PURCHASE_ORDER, ['purchase_order']),
    model(FACT_PAYMENT, ['payment']),
    model(DIM_DATE, ['fact_sales_order', 'fact_purchase_order', 'fact_payment']),
  ],
}
