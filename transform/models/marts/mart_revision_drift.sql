-- The typical drift of a revised month by its age when first fetched (all categories): among report months that
-- SPD revised, grouped by age_months (whole months from the report month to its first fetch), the median and
-- the middle half of (count now − count first fetched) / count first fetched, in %. An age is listed once
-- `revision_drift_min_months` (default 3) revised months of that age exist: fewer is an anecdote, not a
-- typical drift. Months whose first fetch is unknown (kept without a record) or whose first version had no rows
-- are left out. Months re-fetched without change keep no version, so this is the drift of the months that
-- moved, not of every month.
with revised as (
    select age_months, 100.0 * ("count" - first_count) / first_count as change_pct
    from {{ ref('mart_month_revisions') }}
    where offense_category = 'ALL' and age_months is not null and first_count > 0
)

select
    cast(age_months as integer) as age_months,
    cast(count(*) as integer) as months,
    round(median(change_pct), 1) as median_change_pct,
    round(quantile_cont(change_pct, 0.25), 1) as change_pct_p25,
    round(quantile_cont(change_pct, 0.75), 1) as change_pct_p75
from revised
group by age_months
having count(*) >= {{ var('revision_drift_min_months') }}
