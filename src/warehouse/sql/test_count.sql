-- How many rows a data test returns (any row is a failure, or a warning for severity warn).
select count(*) as failures
from (
{{ sql }}
) as dbt_internal_test
