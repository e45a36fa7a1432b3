-- The typical drift of revised months by their age when first fetched (marts.mart_revision_drift).
select
    age_months::bigint as age_months,
    months::bigint as months,
    median_change_pct::double as median_change_pct,
    change_pct_p25::double as change_pct_p25,
    change_pct_p75::double as change_pct_p75
from marts.mart_revision_drift
order by age_months
