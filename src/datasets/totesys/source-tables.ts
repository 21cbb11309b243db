import type { SourceTableSpec } from '../../schema/dataset.js'

/**
 * The ToteSys source tables starline extracts, in foreign-key order (parents
 * first), each with its key and the watermark column the application sets.
 */
export const TOTESYS_TABLES = [
  'address',
  'counterparty',
  'currency',
  'department',
  'design',
  'staff',
  'payment_type',
  'sales_order',
  'purchase_order',
  'transaction',
  'payment',
] as const

export const TOTESYS_SOURCE_TABLES: readonly SourceTableSpec[] = TOTESYS_TABLES.map((name) => ({
  name,
  primaryKey: `${name}_id`,
  watermarkColumn: 'last_updated',
}))
