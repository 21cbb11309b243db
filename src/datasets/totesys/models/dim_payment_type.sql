-- dim_payment_type: the "PaymentTypeName" enum arrives as its label.
with source as (
    select * from payment_type
)

select
    payment_type_id::integer as payment_type_id,
    payment_type_name::varchar as payment_type_name
from source
