-- A seed as a table with the column types its .yml declares (the types dbt uses for the same seed). Empty fields
-- are NULL, as dbt's CSV reader makes them.
create table {{ relation }} as
select *
from read_csv(
    '{{ path }}',
    header = true,
    auto_detect = false,
    delim = ',',
    quote = '"',
    escape = '"',
    columns = { {%- for name, ty in columns %}'{{ name }}': '{{ ty }}'{% if not loop.last %}, {% endif %}{% endfor -%} }
)
