-- Sales by month and currency: the latest version of each sales order (the
-- _current view), valued at units_sold x unit_price. Currencies are never
-- added together: one row per month and currency.
WITH latest AS (
  SELECT created_date, currency_id, units_sold, unit_price
    FROM fact_sales_order_current
),
by_month AS (
  SELECT d.year,
         d.month,
         c.currency_code,
         count(*) AS orders,
         sum(l.units_sold) AS units_sold,
         sum(l.units_sold * l.unit_price) AS revenue
    FROM latest l
    JOIN dim_date d ON d.date_id = l.created_date
    JOIN dim_currency c ON c.currency_id = l.currency_id
   GROUP BY d.year, d.month, c.currency_code
)
SELECT CAST(year AS varchar) || '-' || lpad(CAST(month AS varchar), 2, '0') AS month,
       currency_code,
       orders,
       units_sold,
       revenue
  FROM by_month
 ORDER BY year, month, currency_code
