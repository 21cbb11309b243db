-- Fact rows held now, waiting for a dimension row, per fact table, with the
-- oldest run still waiting (from the held tables _starline_held_<fact>).
SELECT 'fact_sales_order' AS fact_table, count(*) AS held_rows, min(held_since_run) AS oldest_run
  FROM _starline_held_fact_sales_order
UNION ALL
SELECT 'fact_purchase_order', count(*), min(held_since_run)
  FROM _starline_held_fact_purchase_order
UNION ALL
SELECT 'fact_payment', count(*), min(held_since_run)
  FROM _starline_held_fact_payment
ORDER BY fact_table
