-- dim_counterparty: counterparty joined to its legal address. Rebuilt from
-- the current state whenever either table changes. A counterparty whose
-- address is not in the lake keeps its place with 'Unknown' in the NOT NULL
-- address columns until the address arrives: no row is dropped.
with counterparty as (
    select * from current_counterparty
),

address as (
    select * from current_address
),

joined as (
    select
        counterparty.counterparty_id,
        counterparty.counterparty_legal_name,
        coalesce(address.address_line_1, 'Unknown') as address_line_1,
        address.address_line_2,
        address.district,
        coalesce(address.city, 'Unknown') as city,
        coalesce(address.postal_code, 'Unknown') as postal_code,
        coalesce(address.country, 'Unknown') as country,
        coalesce(address.phone, 'Unknown') as phone
    from counterparty
    left join address on address.address_id = counterparty.legal_address_id
)

select
    counterparty_id::integer as counterparty_id,
    counterparty_legal_name::varchar as counterparty_legal_name,
    address_line_1::varchar as counterparty_legal_address_line_1,
    address_line_2::varchar as counterparty_legal_address_line_2,
    district::varchar as counterparty_legal_district,
    city::varchar as counterparty_legal_city,
    postal_code::varchar as counterparty_legal_postal_code,
    country::varchar as counterparty_legal_country,
    phone::varchar as counterparty_legal_phone_number
from joined
