-- Ranking of areas at one level inside a chosen area (e.g. beats of one precinct): api_category_trend's rows of
-- the chosen area's keys, summed per area of the asked level (dim_area names the four levels of each key).
-- {level_column} and {area_predicate} are fixed, allow-listed fragments.
with counts as (
    select a.{level_column} as area, t.month, t.n
    from marts.api_category_trend as t
    inner join marts.dim_area as a using (area_key)
    where t.axis = $axis
      and t.month between cast($from::date - interval 12 month as date) and $to::date
      and ($category::varchar is null or t.offense_category = $category::varchar)
      and {area_predicate}
),
cur as (
    select area, sum(n) as n from counts where month between $from::date and $to::date group by area
),
prev as (
    select area, sum(n) as n
    from counts
    where month between cast($from::date - interval 12 month as date) and cast($to::date - interval 12 month as date)
    group by area
)
select cur.area, cur.n::bigint as count, case when $prior_known then coalesce(prev.n, 0) end::bigint as prior_year_count
from cur
left join prev using (area)
order by count desc, cur.area
