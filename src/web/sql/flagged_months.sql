-- Months whose numbers are not final: partial (still filling) or provisional (SPD still revising).
select strftime(month, '%Y-%m') as month, coalesce(is_partial, false), coalesce(is_provisional, false)
from marts.dim_month
where is_partial or is_provisional
order by month
