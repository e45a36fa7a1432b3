-- Per report month, the rows the manifest records equal the rows in the month's Parquet file, and no month file
-- is missing from the manifest (or the other way round). Fails with one row per month that differs.
with files as (
    select cast(report_month || '-01' as date) as report_month, count(*) as file_rows
    from {{ source('lake', 'spd_crime') }}
    group by 1
),

manifest as (
    select report_month, "rows" as manifest_rows from {{ ref('lake_manifest') }}
)

select
    coalesce(files.report_month, manifest.report_month) as report_month,
    files.file_rows,
    manifest.manifest_rows
from files
full outer join manifest on manifest.report_month = files.report_month
where files.file_rows is distinct from manifest.manifest_rows
    and coalesce(manifest.manifest_rows, 0) + coalesce(files.file_rows, 0) > 0
