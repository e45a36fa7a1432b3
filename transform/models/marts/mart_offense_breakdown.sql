-- Offenses per axis × month × category × sub-category → offense × area. A missing sub-category or offense
-- description is 'UNKNOWN'.
with events as (
    {{ axis_events() }}
)

select
    axis,
    cast(date_trunc('month', axis_ts) as date) as month,
    offense_category,
    coalesce(offense_sub_category, 'UNKNOWN') as offense_sub_category,
    coalesce(offense, 'UNKNOWN') as offense,
    precinct,
    sector,
    beat,
    neighborhood,
    count(*) as n
from events
group by all
