-- The range each month's count is expected in from the same month of previous years, city-wide, on one axis
-- (marts.mart_expected_range).
select
    strftime(month, '%Y-%m') as month,
    offense_category,
    years::bigint as years,
    expected::double as expected,
    expected_low::double as expected_low,
    expected_high::double as expected_high
from marts.mart_expected_range
where axis = $axis
order by month, offense_category
