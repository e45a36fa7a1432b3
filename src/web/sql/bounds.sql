-- First and last month with data on each axis: the default range, and whether a prior-year figure is known.
select axis, strftime(min(month), '%Y-%m') as first_month, strftime(max(month), '%Y-%m') as last_month
from marts.mart_category_trend
group by axis
order by axis
