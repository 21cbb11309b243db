-- dim_transaction: exactly one of sales_order_id / purchase_order_id is set.
with source as (
    select * from transaction
)

select
    transaction_id::integer as transaction_id,
    transaction_type::varchar as transaction_type,
    sales_order_id::integer as sales_order_id,
    purchase_order_id::integer as purchase_order_id
from source
