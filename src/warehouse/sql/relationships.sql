-- dbt's relationships: child values (not NULL) with no parent row.
with child as (
    select {{ column }} as from_field
    from {{ model }}
    where {{ column }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select from_field
from child
left join parent on child.from_field = parent.to_field
where parent.to_field is null
