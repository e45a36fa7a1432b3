-- dbt's not_null: rows where the column is NULL.
select {{ column }}
from {{ model }}
where {{ column }} is null
