-- Ranking of areas at one level inside a chosen area (e.g. beats of one precinct). mart_area_counts carries only
-- one level per row, so this reads mart_category_trend, which carries all four. {level_column} and
-- {area_predicate} are fixed, allow-listed fragments.
with cur as (
    select {level_column} as area, sum(n) as n
    from marts.mart_category_trend
    where axis = $axis
      and month between $from::date and $to::date
      and ($category::varchar is null or offense_category = $category::varchar)
      and {area_predicate}
    group by 1
),
prev as (
    select {level_column} as area, sum(n) as n
    from marts.mart_category_trend
    where axis = $axis
      and month between cast($from::date - interval 12 month as date) and cast($to::date - interval 12 month as date)
      and ($category::varchar is null or offense_category = $category::varchar)
      and {area_predicate}
    group by 1
)
select cur.area, cur.n::bigint as count, case when $prior_known then coalesce(prev.n, 0) end::bigint as prior_year_count
from cur
left join prev using (area)
order by count desc, cur.area
