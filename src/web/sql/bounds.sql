-- First and last month with data on each axis (the whole city's rows of the trend): the default range, and
-- whether a prior-year figure is known.
select axis, strftime(min(month), '%Y-%m') as first_month, strftime(max(month), '%Y-%m') as last_month
from marts.api_category_trend
where area_key is null
group by axis
order by axis
