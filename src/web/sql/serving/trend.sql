-- The serving index's copy of api_category_trend (src/web/serving/): every row as the model stored it, the month
-- as a month number (year × 12 + month − 1). The index sorts the rows itself: the stored order is not relied on.
select axis, area_key, cast(year(month) * 12 + month(month) - 1 as integer) as month, offense_category, n
from marts.api_category_trend
