-- Sales by the country they were delivered to, per currency (latest version
-- of each order; currencies are not added together).
WITH latest AS (
  SELECT agreed_delivery_location_id, currency_id, units_sold, unit_price
    FROM fact_sales_order_current
)
SELECT loc.country,
       c.currency_code,
       count(*) AS orders,
       sum(l.units_sold) AS units_sold,
       sum(l.units_sold * l.unit_price) AS revenue
  FROM latest l
  JOIN dim_location loc ON loc.location_id = l.agreed_delivery_location_id
  JOIN dim_currency c ON c.currency_id = l.currency_id
 GROUP BY loc.country, c.currency_code
 ORDER BY loc.country, c.currency_code
