-- Offenses per axis × month × category at each area level, one row per area: the category trend summed to
-- precinct, sector, beat and neighborhood in turn. Stored in (axis, area_level, area, month) order, so the
-- dashboard's ranking of one level reads only that level's row groups.
with trend as (
    select t.axis, t.month, t.offense_category, a.precinct, a.sector, a.beat, a.neighborhood, t.n
    from {{ ref('api_category_trend') }} as t
    inner join {{ ref('dim_area') }} as a on a.area_key = t.area_key
),

by_level as (
    select axis, month, offense_category, 'precinct' as area_level, precinct as area, n from trend
    union all
    select axis, month, offense_category, 'sector' as area_level, sector as area, n from trend
    union all
    select axis, month, offense_category, 'beat' as area_level, beat as area, n from trend
    union all
    select axis, month, offense_category, 'neighborhood' as area_level, neighborhood as area, n from trend
)

select
    axis,
    month,
    offense_category,
    area_level,
    area,
    cast(sum(n) as bigint) as n
from by_level
group by all
order by axis, area_level, area, month
