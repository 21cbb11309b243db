-- dim_date: a gap-free calendar from the earliest to the latest date any
-- fact of this run refers to. The warehouse keeps the union over runs.
-- day_of_week follows ISO 8601: 1 = Monday ... 7 = Sunday.
with referenced as (
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

bounds as (
    select min(d) as first_date, max(d) as last_date from referenced
),

calendar as (
    select generated.d::date as date_id
    from bounds, generate_series(bounds.first_date, bounds.last_date, interval 1 day) as generated(d)
    where bounds.first_date is not null
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
