-- dbt's unique: values that appear more than once (NULLs are not compared).
select
    {{ column }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column }} is not null
group by {{ column }}
having count(*) > 1
