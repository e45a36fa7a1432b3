-- Monthly counts per category on one axis for every month in range (zeros included), with the count of the
-- same month a year earlier under the same filters. {area_predicate} is a fixed, allow-listed fragment.
with months as (
    select cast(m as date) as month, cast(m - interval 12 month as date) as prior_month
    from generate_series($from::date, $to::date, interval 1 month) as t(m)
),
categories as (
    select category, ord
    from (values ('VIOLENT CRIME', 1), ('PROPERTY CRIME', 2), ('ALL OTHER', 3)) as c(category, ord)
    where $category::varchar is null or category = $category::varchar
),
counts as (
    select month, offense_category, sum(n) as n
    from marts.api_category_trend
    where axis = $axis
      and month between cast($from::date - interval 12 month as date) and $to::date
      and ($category::varchar is null or offense_category = $category::varchar)
      and {area_predicate}
    group by month, offense_category
)
select
    strftime(m.month, '%Y-%m') as month,
    c.category,
    coalesce(cur.n, 0)::bigint as count,
    case when m.prior_month >= $data_from::date then coalesce(prev.n, 0) end::bigint as prior_year_count,
    coalesce(d.is_partial, false) as is_partial,
    coalesce(d.is_provisional, false) as is_provisional
from months as m
cross join categories as c
left join counts as cur on cur.month = m.month and cur.offense_category = c.category
left join counts as prev on prev.month = m.prior_month and prev.offense_category = c.category
left join marts.dim_month as d on d.month = m.month
order by m.month, c.ord
