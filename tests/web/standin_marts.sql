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

-- Completeness and nowcast as transform/models/marts/mart_reporting_delay.sql and mart_completeness.sql define
-- them (window 12 months, 12 reference months); tests/web/expect.rs recomputes them in Rust against the real build.
-- The delays come first: dim_month's provisional flag reads them.
create temp table newest as
select cast(date_trunc('month', max(cast(report_date_time as timestamp))) as date) as newest_month,
       cast(date_trunc('month', min(cast(report_date_time as timestamp))) as date) as first_lake_month
from raw;

create temp table delays as
select offense_category, greatest(0, date_diff('month', date_trunc('month', cast(offense_date as timestamp)),
       date_trunc('month', cast(report_date_time as timestamp)))) as d
from raw, newest
where offense_date is not null
  and cast(date_trunc('month', cast(offense_date as timestamp)) as date)
      between cast(newest_month - interval 23 month as date) and cast(newest_month - interval 12 month as date)
  and cast(date_trunc('month', cast(offense_date as timestamp)) as date) >= first_lake_month;

create table marts.mart_reporting_delay as
with w as (select offense_category, d from delays where d <= 12 union all select 'ALL', d from delays where d <= 12),
tot as (select offense_category, count(*) as reference_offenses from w group by all)
select t.offense_category, k.range::integer as delay_months, t.reference_offenses,
       (select count(*) from w where w.offense_category = t.offense_category and w.d <= k.range) / t.reference_offenses as share_reported
from tot as t, range(0, 13) as k;

-- Provisional as transform/models/marts/dim_month.sql defines it: less than 95% of all offenses reported at the
-- month's age, when the delays rest on 100 reference offenses or more; else the 2 months before the newest.
create temp table provisional_rule as
select coalesce(max(reference_offenses), 0) >= 100 as measured from marts.mart_reporting_delay where offense_category = 'ALL';

create table marts.dim_month as
select m.month,
       m.month = c.current_month as is_partial,
       m.month < c.current_month and (
           case when r.measured then coalesce((select d.share_reported < 0.95 from marts.mart_reporting_delay as d
                                               where d.offense_category = 'ALL'
                                                 and d.delay_months = date_diff('month', m.month, c.current_month)), false)
                else m.month >= cast(c.current_month - interval 2 month as date) end) as is_provisional
from (select distinct cast(date_trunc('month', ts) as date) as month from axis_rows) as m, current_month as c, provisional_rule as r
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
       max(cast(report_date_time as timestamp)) as source_max_updated_at,
       2 as provisional_months, (select if(measured, 'completeness', 'fixed') from provisional_rule) as provisional_method,
       0.95::double as complete_share
from raw;

-- φ as transform/models/marts/mart_dispersion.sql defines it (mean of (a − b)²/(a + b) over year-apart pairs of
-- final months, floored at 1); tests/numbers recomputes it in Rust against the real build.
create table marts.mart_dispersion as
with series as (
    -- Areas as staging cleans them ('OOJ' is no area), which this stand-in's other marts do not do.
    select axis, month, offense_category, area_level, if(area = 'OOJ', 'UNKNOWN', area) as area, sum(n) as n
    from marts.mart_area_counts group by all
    union all
    select axis, month, offense_category, 'city', 'city', sum(n) from marts.mart_area_counts
    where area_level = 'precinct' group by all
),
all_series as (
    select * from series
    union all
    select axis, month, 'ALL', area_level, area, sum(n) from series group by axis, month, area_level, area
),
pairs as (
    select coalesce(c.axis, p.axis) as axis, coalesce(c.offense_category, p.offense_category) as offense_category,
           coalesce(c.area_level, p.area_level) as area_level,
           coalesce(c.month, cast(p.month + interval 12 month as date)) as month,
           coalesce(c.n, 0) as a, coalesce(p.n, 0) as b
    from all_series as c
    full join all_series as p on p.axis = c.axis and p.offense_category = c.offense_category
        and p.area_level = c.area_level and p.area = c.area and p.month = cast(c.month - interval 12 month as date)
),
lake as (select cast(date_trunc('month', min(cast(report_date_time as timestamp))) as date) as first_lake_month from raw)
select axis, offense_category, area_level, round(greatest(1.0, avg(cast((a - b) * (a - b) as double) / (a + b))), 6) as phi,
       count(*) as pairs, any_value(first_lake_month) as first_lake_month
from pairs, lake
where a + b > 0 and cast(month - interval 12 month as date) >= first_lake_month
  and month in (select month from marts.dim_month where not is_partial and not is_provisional)
group by all;

create table marts.mart_completeness as
with obs as (
    select month, offense_category, sum(n) as observed from marts.mart_category_trend where axis = 'occurred' group by all
    union all
    select month, 'ALL', sum(n) from marts.mart_category_trend where axis = 'occurred' group by month
),
j as (
    select cast(newest_month - to_months(k.range) as date) as month, d.offense_category, coalesce(o.observed, 0) as n,
           d.share_reported as p, d.reference_offenses as r, coalesce(ph.phi, 1.0) as phi
    from newest, range(0, 12) as k
    join marts.mart_reporting_delay as d on d.delay_months = k.range
    left join obs as o on o.month = cast(newest_month - to_months(k.range) as date) and o.offense_category = d.offense_category
    left join marts.mart_dispersion as ph on ph.axis = 'occurred' and ph.area_level = 'city' and ph.offense_category = d.offense_category
),
e as (
    select *, case when p > 0 then n / p end as nowcast,
           case when p > 0 then sqrt(phi * (n + 1) * (1 - p) / (p * p) + n * n * (p * (1 - p) / r) / (p * p * p * p)) end as sd
    from j
)
select month, offense_category, n::bigint as observed, round(p, 4) as completeness, round(nowcast, 1) as nowcast,
       round(n + greatest(0, nowcast - n - 1.959964 * sd), 1) as nowcast_low, round(nowcast + 1.959964 * sd, 1) as nowcast_high
from e;

-- The expected range as transform/models/marts/mart_expected_range.sql defines it (3 years, at least 2 final);
-- tests/web/significance.rs recomputes it in Rust against the real build.
create table marts.mart_expected_range as
with city as (
    select axis, month, offense_category, sum(n) as n from marts.api_category_trend where area_key is null group by all
    union all
    select axis, month, 'ALL', sum(n) from marts.api_category_trend where area_key is null group by axis, month
),
final as (select month from marts.dim_month where not is_partial and not is_provisional),
lake as (select cast(date_trunc('month', min(cast(report_date_time as timestamp))) as date) as first_lake_month from raw),
grid as (
    select a.axis, m.month, c.offense_category
    from (select distinct axis from city) as a, (select distinct offense_category from city) as c, marts.dim_month as m
),
earlier as (
    select g.axis, g.month, g.offense_category, coalesce(s.n, 0) as n
    from grid as g, range(1, 4) as k, lake
    join final as p on p.month = cast(g.month - to_years(cast(k.range as integer)) as date)
    left join city as s on s.axis = g.axis and s.offense_category = g.offense_category and s.month = p.month
    where p.month >= lake.first_lake_month
),
seasonal as (select axis, month, offense_category, avg(n) as mu, count(*) as years from earlier group by all having count(*) >= 2)
select s.axis, s.month, s.offense_category, s.years::integer as years, round(s.mu, 1) as expected,
       round(greatest(0, s.mu - 1.959964 * sqrt(coalesce(d.phi, 1.0) * s.mu * (1 + 1.0 / s.years))), 1) as expected_low,
       round(s.mu + 1.959964 * sqrt(coalesce(d.phi, 1.0) * s.mu * (1 + 1.0 / s.years)), 1) as expected_high
from seasonal as s
left join marts.mart_dispersion as d on d.axis = s.axis and d.area_level = 'city' and d.offense_category = s.offense_category;

-- STAND-IN revisions (the real marts count the lake's kept versions, tests/revisions.rs checks them): the six
-- report months before the current one, as if first fetched on the 1st of the next month without every seventh
-- offense (by id), which SPD added later; two versions each. Gives the page's panel figures to draw.
create table marts.mart_month_revisions as
with months as (
    select cast(date_trunc('month', cast(report_date_time as timestamp)) as date) as month, offense_category,
           hash(offense_id) % 7 = 0 as late
    from raw
),
recent as (select * from months, current_month where month < current_month and month >= cast(current_month - interval 6 month as date)),
by_cat as (
    select month, offense_category, count(*) filter (where not late) as first_count, count(*) as n from recent group by all
    union all
    select month, 'ALL', count(*) filter (where not late), count(*) from recent group by month
)
select month, offense_category, cast(month + interval 1 month as timestamp) as first_fetched_at,
       first_count::bigint as first_count, n::bigint as "count", 2 as versions, true as is_live, 1 as age_months
from by_cat;

create table marts.mart_revision_drift as
select age_months, count(*)::integer as months,
       round(median(100.0 * ("count" - first_count) / first_count), 1) as median_change_pct,
       round(quantile_cont(100.0 * ("count" - first_count) / first_count, 0.25), 1) as change_pct_p25,
       round(quantile_cont(100.0 * ("count" - first_count) / first_count, 0.75), 1) as change_pct_p75
from marts.mart_month_revisions
where offense_category = 'ALL' and first_count > 0
group by age_months
having count(*) >= 3;

drop table raw;
