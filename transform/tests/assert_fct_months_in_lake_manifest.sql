-- Every fact row's report month is a month the lake manifest lists (a month file the manifest does not know
-- means the lake was left half-written). Fails with one row per unknown month.
select
    f.report_month,
    count(*) as fact_rows
from {{ ref('fct_offenses') }} as f
left join {{ ref('lake_manifest') }} as m on m.report_month = f.report_month
where m.report_month is null
group by f.report_month
