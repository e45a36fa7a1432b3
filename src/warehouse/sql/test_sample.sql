-- A few of a data test's rows, every column as text, for the failure report.
select cast(columns(*) as varchar)
from (
{{ sql }}
) as dbt_internal_test
limit {{ limit }}
