-- mart_expected_range's range holds its seasonal mean, is never negative and rests on enough years: a row here
-- is a bug in the model.
select axis, month, offense_category, expected, expected_low, expected_high, years
from {{ ref('mart_expected_range') }}
where expected_low < 0 or expected_low > expected or expected_high < expected
    or years < {{ var('expected_range_min_years') }} or years > {{ var('expected_range_years') }}
