/**
 * The ToteSys warehouse: three star schemas (sales, purchases, payments)
 * sharing dimensions, as specified in docs/totesys.md. Each table here
 * is built by the model file of the same name in ./models/.
 */
import type { ColumnSpec, ColumnType, TableSpec } from '../../schema/table-spec.js'

const MONEY: ColumnType = 'decimal(10,2)'

function col(name: string, type: ColumnType, references?: string, nullable = false): ColumnSpec {
  if (references === undefined) return { name, type, nullable }
  const [table, column] = references.split('.') as [string, string]
  return { name, type, nullable, references: { table, column } }
}

function nullableCol(name: string, type: ColumnType): ColumnSpec {
  return { name, type, nullable: true }
}

/** The six timing columns every fact starts with. */
function factTiming(idColumn: string): ColumnSpec[] {
  return [
    col(idColumn, 'integer'),
    col('created_date', 'date', 'dim_date.date_id'),
    col('created_time', 'time'),
    col('last_updated_date', 'date', 'dim_date.date_id'),
    col('last_updated_time', 'time'),
  ]
}

export const DIM_DATE: TableSpec = {
  name: 'dim_date',
  kind: 'dimension',
  primaryKey: ['date_id'],
  columns: [
    col('date_id', 'date'),
    col('year', 'integer'),
    col('month', 'integer'),
    col('day', 'integer'),
    // ISO 8601: 1 = Monday ... 7 = Sunday.
    col('day_of_week', 'integer'),
    col('day_name', 'varchar'),
    col('month_name', 'varchar'),
    col('quarter', 'integer'),
  ],
}

export const DIM_STAFF: TableSpec = {
  name: 'dim_staff',
  kind: 'dimension',
  primaryKey: ['staff_id'],
  columns: [
    col('staff_id', 'integer'),
    col('first_name', 'text'),
    col('last_name', 'text'),
    col('department_name', 'text'),
    col('location', 'text'),
    col('email_address', 'text'),
  ],
}

export const DIM_LOCATION: TableSpec = {
  name: 'dim_location',
  kind: 'dimension',
  primaryKey: ['location_id'],
  columns: [
    col('location_id', 'integer'),
    col('address_line_1', 'text'),
    nullableCol('address_line_2', 'text'),
    nullableCol('district', 'text'),
    col('city', 'text'),
    col('postal_code', 'text'),
    col('country', 'text'),
    col('phone', 'text'),
  ],
}

export const DIM_CURRENCY: TableSpec = {
  name: 'dim_currency',
  kind: 'dimension',
  primaryKey: ['currency_id'],
  columns: [col('currency_id', 'integer'), col('currency_code', 'varchar'), col('currency_name', 'varchar')],
}

export const DIM_DESIGN: TableSpec = {
  name: 'dim_design',
  kind: 'dimension',
  primaryKey: ['design_id'],
  columns: [col('design_id', 'integer'), col('design_name', 'text'), col('file_location', 'text'), col('file_name', 'text')],
}

export const DIM_COUNTERPARTY: TableSpec = {
  name: 'dim_counterparty',
  kind: 'dimension',
  primaryKey: ['counterparty_id'],
  columns: [
    col('counterparty_id', 'integer'),
    col('counterparty_legal_name', 'text'),
    col('counterparty_legal_address_line_1', 'text'),
    nullableCol('counterparty_legal_address_line_2', 'text'),
    nullableCol('counterparty_legal_district', 'text'),
    col('counterparty_legal_city', 'text'),
    col('counterparty_legal_postal_code', 'text'),
    col('counterparty_legal_country', 'text'),
    col('counterparty_legal_phone_number', 'text'),
  ],
}

export const DIM_TRANSACTION: TableSpec = {
  name: 'dim_transaction',
  kind: 'dimension',
  primaryKey: ['transaction_id'],
  columns: [
    col('transaction_id', 'integer'),
    col('transaction_type', 'varchar'),
    nullableCol('sales_order_id', 'integer'),
    nullableCol('purchase_order_id', 'integer'),
  ],
}

export const DIM_PAYMENT_TYPE: TableSpec = {
  name: 'dim_payment_type',
  kind: 'dimension',
  primaryKey: ['payment_type_id'],
  columns: [col('payment_type_id', 'integer'), col('payment_type_name', 'varchar')],
}

export const FACT_SALES_ORDER: TableSpec = {
  name: 'fact_sales_order',
  kind: 'fact',
  recordId: 'sales_record_id',
  appendOrder: ['last_updated_date', 'last_updated_time', 'sales_order_id'],
  naturalKey: ['sales_order_id'],
  versionKey: ['sales_order_id', 'last_updated_date', 'last_updated_time'],
  columns: [
    ...factTiming('sales_order_id'),
    col('sales_staff_id', 'integer', 'dim_staff.staff_id'),
    col('counterparty_id', 'integer', 'dim_counterparty.counterparty_id'),
    col('units_sold', 'integer'),
    col('unit_price', MONEY),
    col('currency_id', 'integer', 'dim_currency.currency_id'),
    col('design_id', 'integer', 'dim_design.design_id'),
    col('agreed_payment_date', 'date', 'dim_date.date_id'),
    col('agreed_delivery_date', 'date', 'dim_date.date_id'),
    col('agreed_delivery_location_id', 'integer', 'dim_location.location_id'),
  ],
}

export const FACT_PURCHASE_ORDER: TableSpec = {
  name: 'fact_purchase_order',
  kind: 'fact',
  recordId: 'purchase_record_id',
  appendOrder: ['last_updated_date', 'last_updated_time', 'purchase_order_id'],
  naturalKey: ['purchase_order_id'],
  versionKey: ['purchase_order_id', 'last_updated_date', 'last_updated_time'],
  columns: [
    ...factTiming('purchase_order_id'),
    col('staff_id', 'integer', 'dim_staff.staff_id'),
    col('counterparty_id', 'integer', 'dim_counterparty.counterparty_id'),
    col('item_code', 'text'),
    col('item_quantity', 'integer'),
    col('item_unit_price', MONEY),
    col('currency_id', 'integer', 'dim_currency.currency_id'),
    col('agreed_delivery_date', 'date', 'dim_date.date_id'),
    col('agreed_payment_date', 'date', 'dim_date.date_id'),
    col('agreed_delivery_location_id', 'integer', 'dim_location.location_id'),
  ],
}

export const FACT_PAYMENT: TableSpec = {
  name: 'fact_payment',
  kind: 'fact',
  recordId: 'payment_record_id',
  appendOrder: ['last_updated_date', 'last_updated_time', 'payment_id'],
  naturalKey: ['payment_id'],
  versionKey: ['payment_id', 'last_updated_date', 'last_updated_time'],
  columns: [
    ...factTiming('payment_id'),
    col('transaction_id', 'integer', 'dim_transaction.transaction_id'),
    col('counterparty_id', 'integer', 'dim_counterparty.counterparty_id'),
    col('payment_amount', MONEY),
    col('currency_id', 'integer', 'dim_currency.currency_id'),
    col('payment_type_id', 'integer', 'dim_payment_type.payment_type_id'),
    col('paid', 'boolean'),
    col('payment_date', 'date', 'dim_date.date_id'),
  ],
}
