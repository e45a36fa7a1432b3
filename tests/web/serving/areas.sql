-- Ranking of areas at one level (no area filter): counts in range and in the same range a year earlier.
with cur as (
    select area, sum(n) as n
    from marts.mart_area_counts
    where axis = $axis and area_level = $level
      and month between $from::date and $to::date
      and ($category::varchar is null or offense_category = $category::varchar)
    group by area
),
prev as (
    select area, sum(n) as n
    from marts.mart_area_counts
    where axis = $axis and area_level = $level
      and month between cast($from::date - interval 12 month as date) and cast($to::date - interval 12 month as date)
      and ($category::varchar is null or offense_category = $category::varchar)
    group by area
)
select cur.area, cur.n::bigint as count, case when $prior_known then coalesce(prev.n, 0) end::bigint as prior_year_count
from cur
left join prev using (area)
order by count desc, cur.area
