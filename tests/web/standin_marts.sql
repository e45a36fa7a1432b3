-- STAND-IN for the warehouse build (tests only): computes the marts of docs/CONTRACTS.md from the fixture's
-- `raw` rows with plain SQL, so the web stage can be tested before (and independently of) pipeline::build.
-- Expectations in tests/web are computed in Rust from the same rows, never from these tables.
create schema marts;

create temp table axis_rows as
select 'occurred' as axis, cast(offense_date as timestamp) as ts, offense_category, offense_sub_category, offense,
       precinct, sector, beat, neighborhood
from raw where offense_date is not null
union all
select 'reported', cast(report_date_time as timestamp), offense_category, offense_sub_category, offense,
       precinct, sector, beat, neighborhood
from raw;

create temp table current_month as
select cast(date_trunc('month', max(cast(report_date_time as timestamp))) as date) as current_month from raw;

create table marts.dim_month as
select m.month,
       m.month = c.current_month as is_partial,
       m.month < c.current_month and m.month >= cast(c.current_month - interval 2 month as date) as is_provisional
from (select distinct cast(date_trunc('month', ts) as date) as month from axis_rows) as m, current_month as c
order by m.month;

create table marts.mart_category_trend as
select a.axis, cast(date_trunc('month', a.ts) as date) as month, a.offense_category, a.precinct, a.sector, a.beat,
       a.neighborhood, count(*)::bigint as n, any_value(d.is_partial) as is_partial, any_value(d.is_provisional) as is_provisional
from axis_rows as a join marts.dim_month as d on d.month = cast(date_trunc('month', a.ts) as date)
group by all
order by month;

create table marts.mart_area_counts as
select axis, month, offense_category, area_level, area, sum(n)::bigint as n
from (
    select axis, month, offense_category, 'precinct' as area_level, precinct as area, n from marts.mart_category_trend
    union all select axis, month, offense_category, 'sector', sector, n from marts.mart_category_trend
    union all select axis, month, offense_category, 'beat', beat, n from marts.mart_category_trend
    union all select axis, month, offense_category, 'neighborhood', neighborhood, n from marts.mart_category_trend
)
group by all
order by month;

create table marts.mart_offense_breakdown as
select axis, cast(date_trunc('month', ts) as date) as month, offense_category, offense_sub_category, offense,
       precinct, sector, beat, neighborhood, count(*)::bigint as n
from axis_rows
group by all
order by month;

create table marts.mart_hour_weekday as
select axis, cast(date_trunc('month', ts) as date) as month, offense_category, hour(ts) as hour,
       isodow(ts) - 1 as weekday, precinct, sector, beat, neighborhood, count(*)::bigint as n
from axis_rows
group by all
order by month;

-- The dashboard's grain (docs/CONTRACTS.md, "API marts"): each area combination numbered in dim_area, counts
-- per area_key and, on rows with area_key NULL, for the whole city.
create table marts.dim_area as
select row_number() over (order by precinct, sector, beat, neighborhood)::integer as area_key, *
from (select distinct precinct, sector, beat, neighborhood from axis_rows);

create temp table keyed as
select a.*, d.area_key
from axis_rows as a join marts.dim_area as d using (precinct, sector, beat, neighborhood);

create table marts.api_category_trend as
select axis, area_key, cast(date_trunc('month', ts) as date) as month, offense_category, count(*)::bigint as n
from keyed
group by grouping sets ((axis, area_key, month, offense_category), (axis, month, offense_category))
order by axis, area_key nulls first, month;

create table marts.api_offense_breakdown as
select axis, area_key, cast(date_trunc('month', ts) as date) as month, offense_category, offense_sub_category,
       offense, count(*)::bigint as n
from keyed
group by grouping sets ((axis, area_key, month, offense_category, offense_sub_category, offense),
                        (axis, month, offense_category, offense_sub_category, offense))
order by axis, area_key nulls first;

create table marts.api_hour_weekday as
select axis, area_key, cast(date_trunc('month', ts) as date) as month, offense_category,
       hour(ts)::integer as hour, (isodow(ts) - 1)::integer as weekday, count(*)::bigint as n
from keyed
group by grouping sets ((axis, area_key, month, offense_category, hour, weekday),
                        (axis, month, offense_category, hour, weekday))
order by axis, area_key nulls first;

-- Seven quarantined rows, so the page has some to show (tests/browser/check.mjs compares it with /api/health).
create table marts.meta_build as
select timestamp '2026-11-28 12:00:00' as built_at, count(*)::bigint as lake_rows, count(*)::bigint as fact_rows,
       0::bigint as excluded_rows, 7::bigint as quarantined_rows, timestamp '2026-11-28 11:58:00' as last_fetched_at,
       max(cast(report_date_time as timestamp)) as source_max_updated_at
from raw;

drop table raw;
