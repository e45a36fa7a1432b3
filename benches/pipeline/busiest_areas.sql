-- The busiest area of each level (most offenses reported, all months): the bench's area filters.
select area_level, arg_max(area, n) as area
from (
    select area_level, area, sum(n) as n
    from marts.mart_area_counts
    where axis = 'reported'
    group by all
)
group by area_level
order by area_level
