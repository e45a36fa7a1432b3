-- Offenses per axis × area × month × category × sub-category → offense, the area as one key (dim_area), and the
-- whole city's counts with area_key NULL: mart_offense_breakdown's counts in the shape the dashboard asks for.
-- A missing sub-category or offense description is 'UNKNOWN'.
with events as (
    {{ axis_events(['offense_sub_category', 'offense']) }}
),

by_area as (
    select
        is_reported,
        area_key,
        cast(date_trunc('month', axis_ts) as date) as month,
        category_code,
        coalesce(offense_sub_category, 'UNKNOWN') as offense_sub_category,
        coalesce(offense, 'UNKNOWN') as offense,
        count(*) as n
    from events
    group by all
)

{{ with_city_rollup('by_area', ['offense_sub_category', 'offense']) }}
