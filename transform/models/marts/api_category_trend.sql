-- Offenses per axis × area × month × category (api_hour_weekday summed over hour and weekday), the area as one
-- key (dim_area) and the whole city with area_key NULL, in (axis, area_key, month) order: the dashboard's trend
-- and area rankings read it.
select
    axis,
    area_key,
    month,
    offense_category,
    cast(sum(n) as bigint) as n
from {{ ref('api_hour_weekday') }}
group by all
order by axis, area_key nulls first, month
