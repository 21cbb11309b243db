-- Payments paid and still due, by currency and payment type: the latest
-- version of each payment (a payment's `paid` flips to true in a newer version).
WITH latest AS (
  SELECT currency_id, payment_type_id, paid, payment_amount
    FROM fact_payment_current
)
SELECT c.currency_code,
       t.payment_type_name,
       CASE WHEN l.paid THEN 'paid' ELSE 'due' END AS status,
       count(*) AS payments,
       sum(l.payment_amount) AS amount
  FROM latest l
  JOIN dim_currency c ON c.currency_id = l.currency_id
  JOIN dim_payment_type t ON t.payment_type_id = l.payment_type_id
 GROUP BY c.currency_code, t.payment_type_name, l.paid
 ORDER BY c.currency_code, t.payment_type_name, status DESC
