/**
 * Row checks for ToteSys source rows, beyond the types and NOT NULLs the
 * source catalog already implies. Each is a DuckDB predicate over the row's
 * typed columns that is true when the row is bad; a bad row is quarantined
 * with the reason, never loaded.
 */
import type { RowCheck } from '../../schema/dataset.js'

/** A text date must be exactly YYYY-MM-DD and a real day (no 2024-11-31). */
function textDate(column: string): RowCheck {
  return {
    reason: `${column} is not a YYYY-MM-DD date`,
    failsWhen: `NOT regexp_full_match(${column}, '\\d{4}-\\d{2}-\\d{2}') OR try_strptime(${column}, '%Y-%m-%d') IS NULL`,
  }
}

function atLeast(column: string, minimum: string): RowCheck {
  return { reason: `${column} is below ${minimum}`, failsWhen: `${column} < ${minimum}` }
}

export const TOTESYS_CHECKS: Readonly<Record<string, readonly RowCheck[]>> = {
  currency: [{ reason: 'currency_code is not three capital letters', failsWhen: `NOT regexp_full_match(currency_code, '[A-Z]{3}')` }],
  payment_type: [
    {
      reason: 'payment_type_name is not a PaymentTypeName',
      failsWhen: `payment_type_name NOT IN ('SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND')`,
    },
  ],
  sales_order: [
    textDate('agreed_delivery_date'),
    textDate('agreed_payment_date'),
    atLeast('units_sold', '1'),
    atLeast('unit_price', '0.01'),
  ],
  purchase_order: [
    textDate('agreed_delivery_date'),
    textDate('agreed_payment_date'),
    atLeast('item_quantity', '1'),
    atLeast('item_unit_price', '0.01'),
  ],
  transaction: [
    { reason: 'transaction_type is not a TransactionType', failsWhen: `transaction_type NOT IN ('SALE', 'PURCHASE')` },
    {
      reason: 'a SALE must have sales_order_id and no purchase_order_id (a PURCHASE the reverse)',
      failsWhen: `NOT ((transaction_type = 'SALE' AND sales_order_id IS NOT NULL AND purchase_order_id IS NULL)
                    OR (transaction_type = 'PURCHASE' AND purchase_order_id IS NOT NULL AND sales_order_id IS NULL))`,
    },
  ],
  payment: [textDate('payment_date')],
}
