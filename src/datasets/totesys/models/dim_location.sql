-- dim_location: one row per address, latest values. Reads the addresses
-- changed in this run; the warehouse upserts them by location_id.
with source as (
    select * from address
),

renamed as (
    select
        address_id as location_id,
        address_line_1,
        address_line_2,
        district,
        city,
        postal_code,
        country,
        phone
    from source
)

select
    location_id::integer as location_id,
    address_line_1::varchar as address_line_1,
    address_line_2::varchar as address_line_2,
    district::varchar as district,
    city::varchar as city,
    postal_code::varchar as postal_code,
    country::varchar as country,
    phone::varchar as phone
from renamed
