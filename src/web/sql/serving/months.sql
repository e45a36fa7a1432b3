-- The serving index's copy of dim_month: each month's flags, the month as a month number (year × 12 + month − 1).
select cast(year(month) * 12 + month(month) - 1 as integer) as month, is_partial, is_provisional
from marts.dim_month
