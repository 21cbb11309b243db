-- The ten designs with the most units sold (latest version of each order).
-- Units, not money: the orders of one design come in several currencies.
WITH latest AS (
  SELECT design_id, units_sold
    FROM fact_sales_order_current
),
per_design AS (
  SELECT design_id,
         count(*) AS orders,
         sum(units_sold) AS units_sold
    FROM latest
   GROUP BY design_id
)
SELECT p.design_id,
       d.design_name,
       p.orders,
       p.units_sold
  FROM per_design p
  JOIN dim_design d ON d.design_id = p.design_id
 ORDER BY p.units_sold DESC, p.design_id
 LIMIT 10
