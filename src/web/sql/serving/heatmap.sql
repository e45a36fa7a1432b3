-- The serving index's copy of api_hour_weekday: every row of the 7 × 24 cells the heatmap draws (weekday 0 =
-- Monday), the cell as weekday × 24 + hour and the month as a month number (year × 12 + month − 1).
select
    axis,
    area_key,
    cast(year(month) * 12 + month(month) - 1 as integer) as month,
    offense_category,
    cast(weekday * 24 + hour as integer) as cell,
    n
from marts.api_hour_weekday
where weekday between 0 and 6 and hour between 0 and 23
