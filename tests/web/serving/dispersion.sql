-- The dispersion φ per category ('ALL' = the three summed) for one axis and area level ('city' = no area filter),
-- the lake's first report month (an earlier period before it is not comparable), and whether the range holds a
-- partial month (a partial period is not compared). See src/web/significance.rs.
select
    offense_category,
    phi,
    strftime(first_lake_month, '%Y-%m') as first_lake_month,
    exists (
        select 1 from marts.dim_month where is_partial and month between $from::date and $to::date
    ) as range_has_partial
from marts.mart_dispersion
where axis = $axis and area_level = $level
