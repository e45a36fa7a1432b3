-- Offenses per axis × area × month × category × hour of day × weekday, the area as one key (dim_area), and the
-- whole city's counts with area_key NULL: mart_hour_weekday's counts in the shape the dashboard's heatmap asks
-- for. Stored in (axis, area_key) order, so a filter on an area (a range of neighbouring keys) or on the
-- city reads only the row groups that hold it (ordering by month too would cost the build another ~1 CPU-s). Hour and weekday come from the axis timestamp (Seattle local
-- time as published); weekday 0 = Monday … 6 = Sunday.
with events as (
    {{ axis_events(['offense_category']) }}
),

by_area as (
    select
        axis,
        area_key,
        cast(date_trunc('month', axis_ts) as date) as month,
        offense_category,
        cast(hour(axis_ts) as integer) as hour,
        cast(isodow(axis_ts) - 1 as integer) as weekday,
        count(*) as n
    from events
    group by all
)

{{ with_city_rollup('by_area', ['offense_category', 'hour', 'weekday']) }}
