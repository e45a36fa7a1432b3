-- The serving index's copy of api_offense_breakdown: every row, the month as a month number (year × 12 + month − 1).
select
    axis,
    area_key,
    cast(year(month) * 12 + month(month) - 1 as integer) as month,
    offense_category,
    offense_sub_category,
    offense,
    n
from marts.api_offense_breakdown
