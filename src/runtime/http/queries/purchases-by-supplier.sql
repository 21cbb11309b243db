-- Purchases by supplier and currency, valued at item_quantity x
-- item_unit_price (latest version of each purchase order).
WITH latest AS (
  SELECT counterparty_id, currency_id, item_quantity, item_unit_price
    FROM fact_purchase_order_current
)
SELECT cp.counterparty_id,
       cp.counterparty_legal_name AS supplier,
       c.currency_code,
       count(*) AS orders,
       sum(l.item_quantity) AS items,
       sum(l.item_quantity * l.item_unit_price) AS amount
  FROM latest l
  JOIN dim_counterparty cp ON cp.counterparty_id = l.counterparty_id
  JOIN dim_currency c ON c.currency_id = l.currency_id
 GROUP BY cp.counterparty_id, cp.counterparty_legal_name, c.currency_code
 ORDER BY cp.counterparty_legal_name, cp.counterparty_id, c.currency_code
