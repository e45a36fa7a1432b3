{{ config(materialized='view') }}

-- One row per offense: the fact every mart counts. Area columns are never NULL here (a missing area is
-- 'UNKNOWN'), so a dashboard's filter on an area matches the marts. A view, unlike the rest of marts: its rows
-- are stg_offenses' rows (a table in the same file, so the warehouse stays self-contained), and storing 1.2M
-- wide rows a second time cost about a fifth of a build.
with offenses as (
    select * from {{ ref('stg_offenses') }}
)

select
    offense_id,
    report_number,
    offense_date,
    report_date_time,
    -- Calendar days from the offense's date to the report's date (0 = reported the same day).
    date_diff('day', cast(offense_date as date), cast(report_date_time as date)) as report_lag_days,
    offense_category,
    crime_against,
    offense_sub_category,
    offense,
    nibrs_offense_code,
    nibrs_group_a_b,
    shooting_type_group,
    coalesce(precinct, 'UNKNOWN') as precinct,
    coalesce(sector, 'UNKNOWN') as sector,
    coalesce(beat, 'UNKNOWN') as beat,
    coalesce(neighborhood, 'UNKNOWN') as neighborhood,
    reporting_area,
    block_address,
    latitude,
    longitude,
    source_updated_at,
    report_month
from offenses
