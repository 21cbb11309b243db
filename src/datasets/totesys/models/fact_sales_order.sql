-- fact_sales_order: one row per new version of a sales order in this run.
-- The text dates must be exactly YYYY-MM-DD; strptime fails on anything else.
with source as (
    select * from sales_order
)

select
    sales_order_id::integer as sales_order_id,
    created_at::date as created_date,
    created_at::time as created_time,
    last_updated::date as last_updated_date,
    last_updated::time as last_updated_time,
    staff_id::integer as sales_staff_id,
    counterparty_id::integer as counterparty_id,
    units_sold::integer as units_sold,
    unit_price::decimal(10, 2) as unit_price,
    currency_id::integer as currency_id,
    design_id::integer as design_id,
    strptime(agreed_payment_date, '%Y-%m-%d')::date as agreed_payment_date,
    strptime(agreed_delivery_date, '%Y-%m-%d')::date as agreed_delivery_date,
    agreed_delivery_location_id::integer as agreed_delivery_location_id
from source
