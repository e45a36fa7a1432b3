-- Offenses per axis × month × category at each area level, one row per area: the category trend summed to
-- precinct, sector, beat and neighborhood in turn.
with trend as (
    select * from {{ ref('mart_category_trend') }}
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
