-- One row about this build: when it ran (UTC), how many lake rows went in and how many facts came out, how many
-- rows the source sent that could not be read (quarantined), and how fresh the lake is.
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
),

quarantine as (
    select
        (select coalesce(sum(quarantined), 0) from {{ ref('lake_manifest') }})
        + (select count(*) from {{ ref('stg_lake__import_quarantine') }}) as quarantined_rows
)

select
    {{ build_started_at() }} as built_at,
    lake.lake_rows,
    fact.fact_rows,
    lake.lake_rows - fact.fact_rows as excluded_rows,
    cast(quarantine.quarantined_rows as bigint) as quarantined_rows,
    manifest.last_fetched_at,
    lake.source_max_updated_at,
    manifest.newest_lake_month,
    cast({{ var('provisional_months') }} as integer) as provisional_months
from lake, manifest, fact, quarantine
