-- dim_date: a gap-free calendar from the earliest to the latest date any
-- fact of this run refers to. The warehouse keeps the union over runs.
-- day_of_week follows ISO 8601: 1 = Monday ... 7 = Sunday.
-- Not materialized: read twice (bounds, calendar), DuckDB would otherwise keep
-- every fact's dates in memory outside its limit (transform peak RSS at scale
-- 300: 275-285 MB materialized, 240 MB read twice from the Parquet files).
with referenced as not materialized (
    select created_date as d from fact_sales_order
    union all select last_updated_date from fact_sales_order
    union all select agreed_payment_date from fact_sales_order
    union all select agreed_delivery_date from fact_sales_order
    union all select created_date from fact_purchase_order
    union all select last_updated_date from fact_purchase_order
    union all select agreed_payment_date from fact_purchase_order
    union all select agreed_delivery_date from fact_purchase_order
    union all select created_date from fact_payment
    union all select last_updated_date from fact_payment
    union all select payment_date from fact_payment
),

-- The gap-free range is kept within 1900-2100: one absurd date (a payment
-- due in 9999) would otherwise add millions of calendar rows. Dates outside
-- it are still present, each on its own, so every fact's date has its row.
bounds as (
    select
        greatest(min(d), date '1900-01-01') as first_date,
        least(max(d), date '2100-12-31') as last_date
    from referenced
),

calendar as (
    select generated.d::date as date_id
    from bounds, generate_series(bounds.first_date, bounds.last_date, interval 1 day) as generated(d)
    where bounds.first_date <= bounds.last_date
    union
    select d from referenced where d < date '1900-01-01' or d > date '2100-12-31'
)

select
    date_id,
    year(date_id)::integer as year,
    month(date_id)::integer as month,
    day(date_id)::integer as day,
    isodow(date_id)::integer as day_of_week,
    strftime(date_id, '%A')::varchar as day_name,
    strftime(date_id, '%B')::varchar as month_name,
    quarter(date_id)::integer as quarter
from calendar
