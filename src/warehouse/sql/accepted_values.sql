-- dbt's accepted_values: each value outside the list, with how often it occurs (NULLs pass, as in dbt).
with all_values as (
    select
        {{ column }} as value_field,
        count(*) as n_records
    from {{ model }}
    group by {{ column }}
)

select *
from all_values
where value_field not in (
    {%- for v in values %}{% if quote %}'{{ v | replace("'", "''") }}'{% else %}{{ v }}{% endif %}{% if not loop.last %}, {% endif %}{% endfor -%}
)
