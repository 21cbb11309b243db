-- dim_staff: staff joined to their department. Rebuilt from the current
-- state whenever either table changes, because a department edit changes
-- every one of its staff rows. A staff row whose department is not in the
-- lake (quarantined, or not arrived) keeps its place with 'Unknown' values
-- and is corrected when the department arrives: no row is dropped.
with staff as (
    select * from current_staff
),

department as (
    select * from current_department
),

joined as (
    select
        staff.staff_id,
        staff.first_name,
        staff.last_name,
        coalesce(department.department_name, 'Unknown') as department_name,
        -- location is NOT NULL in the warehouse; the source allows null.
        coalesce(department.location, 'Unknown') as location,
        staff.email_address
    from staff
    left join department on department.department_id = staff.department_id
)

select
    staff_id::integer as staff_id,
    first_name::varchar as first_name,
    last_name::varchar as last_name,
    department_name::varchar as department_name,
    location::varchar as location,
    email_address::varchar as email_address
from joined
