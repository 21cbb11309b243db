-- dim_currency: the source has only the ISO 4217 code; the name comes from
-- iso_currency, a table of every code the runtime's ICU data knows.
with source as (
    select * from currency
),

named as (
    select
        source.currency_id,
        upper(trim(source.currency_code)) as currency_code,
        -- An unknown code keeps a readable placeholder rather than a null.
        coalesce(iso_currency.currency_name, 'Unknown currency') as currency_name
    from source
    left join iso_currency on iso_currency.currency_code = upper(trim(source.currency_code))
)

select
    currency_id::integer as currency_id,
    currency_code::varchar as currency_code,
    currency_name::varchar as currency_name
from named
