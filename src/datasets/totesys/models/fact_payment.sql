-- fact_payment: one row per new version of a payment in this run (a payment
-- flipping to paid is a second row). Account numbers stay in the source.
with source as (
    select * from payment
)

select
    payment_id::integer as payment_id,
    created_at::date as created_date,
    created_at::time as created_time,
    last_updated::date as last_updated_date,
    last_updated::time as last_updated_time,
    transaction_id::integer as transaction_id,
    counterparty_id::integer as counterparty_id,
    payment_amount::decimal(10, 2) as payment_amount,
    currency_id::integer as currency_id,
    payment_type_id::integer as payment_type_id,
    paid::boolean as paid,
    strptime(payment_date, '%Y-%m-%d')::date as payment_date
from source
