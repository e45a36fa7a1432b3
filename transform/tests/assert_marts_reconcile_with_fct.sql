-- Each count mart adds up, per axis, to the fact rows that have that axis's timestamp (mart_area_counts once per
-- area level). Fails with one row per mart, axis (and level) whose total differs.
with expected as (
    select 'occurred' as axis, count(offense_date) as fact_rows from {{ ref('fct_offenses') }}
    union all
    select 'reported' as axis, count(report_date_time) as fact_rows from {{ ref('fct_offenses') }}
),

totals as (
    select 'mart_category_trend' as mart, axis, sum(n) as mart_rows from {{ ref('mart_category_trend') }} group by axis
    union all
    select 'mart_offense_breakdown' as mart, axis, sum(n) as mart_rows from {{ ref('mart_offense_breakdown') }} group by axis
    union all
    select 'mart_hour_weekday' as mart, axis, sum(n) as mart_rows from {{ ref('mart_hour_weekday') }} group by axis
    union all
    select 'mart_area_counts/' || area_level as mart, axis, sum(n) as mart_rows
    from {{ ref('mart_area_counts') }}
    group by area_level, axis
)

select
    totals.mart,
    expected.axis,
    expected.fact_rows,
    totals.mart_rows
from expected
inner join totals on totals.axis = expected.axis
where totals.mart_rows <> expected.fact_rows
