-- Sales by the member of staff who made them, per currency (latest version
-- of each order; currencies are not added together).
WITH latest AS (
  SELECT sales_staff_id, currency_id, units_sold, unit_price
    FROM fact_sales_order_current
)
SELECT s.staff_id,
       s.first_name || ' ' || s.last_name AS staff_name,
       s.department_name,
       c.currency_code,
       count(*) AS orders,
       sum(l.units_sold) AS units_sold,
       sum(l.units_sold * l.unit_price) AS revenue
  FROM latest l
  JOIN dim_staff s ON s.staff_id = l.sales_staff_id
  JOIN dim_currency c ON c.currency_id = l.currency_id
 GROUP BY s.staff_id, s.first_name, s.last_name, s.department_name, c.currency_code
 ORDER BY s.last_name, s.first_name, s.staff_id, c.currency_code
