-- One row about this build: when it ran (UTC), how many lake rows went in and how many facts came out, and how
-- fresh the lake is.
with lake as (
    select count(*) as lake_rows, max(source_updated_at) as source_max_updated_at
    from {{ ref('stg_lake__spd_crime') }}
),

manifest as (
    select max(fetched_at) as last_fetched_at, max(report_month) as newest_lake_month
    from {{ ref('lake_manifest') }}
),

fact as (
    select count(*) as fact_rows from {{ ref('fct_offenses') }}
)

select
    {{ build_started_at() }} as built_at,
    lake.lake_rows,
    fact.fact_rows,
    lake.lake_rows - fact.fact_rows as excluded_rows,
    manifest.last_fetched_at,
    lake.source_max_updated_at,
    manifest.newest_lake_month,
    cast({{ var('provisional_months') }} as integer) as provisional_months
from lake, manifest, fact
