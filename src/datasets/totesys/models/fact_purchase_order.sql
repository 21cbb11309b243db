-- fact_purchase_order: one row per new version of a purchase order in this run.
with source as (
    select * from purchase_order
)

select
    purchase_order_id::integer as purchase_order_id,
    created_at::date as created_date,
    created_at::time as created_time,
    last_updated::date as last_updated_date,
    last_updated::time as last_updated_time,
    staff_id::integer as staff_id,
    counterparty_id::integer as counterparty_id,
    item_code::varchar as item_code,
    item_quantity::integer as item_quantity,
    item_unit_price::decimal(10, 2) as item_unit_price,
    currency_id::integer as currency_id,
    strptime(agreed_delivery_date, '%Y-%m-%d')::date as agreed_delivery_date,
    strptime(agreed_payment_date, '%Y-%m-%d')::date as agreed_payment_date,
    agreed_delivery_location_id::integer as agreed_delivery_location_id
from source
