-- mart_revisions' live versions are the manifest's months (those with rows) with the manifest's rows: a row
-- here is a version counted from the wrong files (a staged or kept file taken for the live one, or one missed).
with live as (
    select report_month, "rows" from {{ ref('mart_revisions') }} where is_live and offense_category = 'ALL'
)

select coalesce(l.report_month, m.report_month) as report_month, l."rows" as counted, m."rows" as listed
from live as l
full join {{ ref('lake_manifest') }} as m on m.report_month = l.report_month
where (l."rows" is distinct from m."rows") and coalesce(m."rows", 1) > 0
