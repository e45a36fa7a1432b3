-- Offenses per axis × area × month × category × hour of day × weekday, the area as one key (dim_area), and the
-- whole city's counts with area_key NULL: mart_hour_weekday's counts in the shape the dashboard's heatmap asks
-- for. Hour and weekday come from the axis timestamp (Seattle local time as published); weekday 0 = Monday …
-- 6 = Sunday.
with events as (
    {{ axis_events([]) }}
),

by_area as (
    select
        is_reported,
        area_key,
        cast(date_trunc('month', axis_ts) as date) as month,
        category_code,
        cast(hour(axis_ts) as integer) as hour,
        cast(isodow(axis_ts) - 1 as integer) as weekday,
        count(*) as n
    from events
    group by all
)

{{ with_city_rollup('by_area', ['hour', 'weekday']) }}
