-- Hour of day x weekday (0 = Monday), all 168 cells including zeros.
with cells as (
    select w.weekday::integer as weekday, h.hour::integer as hour
    from range(7) as w(weekday) cross join range(24) as h(hour)
),
counts as (
    select weekday::integer as weekday, hour::integer as hour, sum(n) as n
    from marts.api_hour_weekday
    where axis = $axis
      and month between $from::date and $to::date
      and ($category::varchar is null or offense_category = $category::varchar)
      and {area_predicate}
    group by 1, 2
)
select cells.weekday, cells.hour, coalesce(counts.n, 0)::bigint as count
from cells
left join counts using (weekday, hour)
order by cells.weekday, cells.hour
