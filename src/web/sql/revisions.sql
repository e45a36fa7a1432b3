-- The report months SPD revised: count when first fetched against now, per category (marts.mart_month_revisions).
select
    strftime(month, '%Y-%m') as month,
    offense_category,
    strftime(first_fetched_at, '%Y-%m-%dT%H:%M:%SZ') as first_fetched_at,
    first_count::bigint as first_count,
    "count"::bigint as "count",
    versions::bigint as versions
from marts.mart_month_revisions
order by month, offense_category
