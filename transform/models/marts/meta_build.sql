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

-- How dim_month flags provisional months: 'completeness' (less than complete_share reported, measured) or
-- 'fixed' (the provisional_months months before the newest; too little history to measure the delays).
provisional as (
    select
        case when coalesce(max(reference_offenses), 0) >= {{ var('completeness_min_reference') }}
            then 'completeness' else 'fixed' end as provisional_method
    from {{ ref('mart_reporting_delay') }}
    where offense_category = 'ALL'
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
    cast({{ var('provisional_months') }} as integer) as provisional_months,
    provisional.provisional_method,
    cast({{ var('complete_share') }} as double) as complete_share
from lake, manifest, fact, quarantine, provisional
