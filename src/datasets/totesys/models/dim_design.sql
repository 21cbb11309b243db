-- dim_design: one row per design, latest values.
with source as (
    select * from design
)

select
    design_id::integer as design_id,
    design_name::varchar as design_name,
    file_location::varchar as file_location,
    file_name::varchar as file_name
from source
