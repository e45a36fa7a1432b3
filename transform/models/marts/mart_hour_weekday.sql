-- Offenses per axis × month × category × hour of day × weekday × area. Hour and weekday come from the axis
-- timestamp (Seattle local time as published); weekday 0 = Monday … 6 = Sunday.
with events as (
    {{ axis_events() }}
)

select
    axis,
    cast(date_trunc('month', axis_ts) as date) as month,
    offense_category,
    cast(hour(axis_ts) as integer) as hour,
    cast(isodow(axis_ts) - 1 as integer) as weekday,
    precinct,
    sector,
    beat,
    neighborhood,
    count(*) as n
from events
group by all
