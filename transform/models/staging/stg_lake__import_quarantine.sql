{{ config(materialized='ephemeral') }}

-- The rows of the last CSV import that belong to no report month (no readable report date): one row per line of
-- lake/_quarantine_import.jsonl. Rows quarantined within a month are counted by the manifest instead
-- (lake_manifest.quarantined). Ephemeral, like stg_lake__spd_crime: read where it is counted (meta_build), so
-- the published file gains no relation. A line torn by a crash still counts, with no reason.
with source as (
    select content from {{ source('lake', 'import_quarantine') }}
),

lines as (
    select unnest(string_split(content, chr(10))) as line
    from source
),

parsed as (
    select
        case when json_valid(line) then line ->> 'reason' end as reason,
        case when json_valid(line) then cast(line ->> 'line' as bigint) end as export_line
    from lines
    where trim(line) <> ''
)

select * from parsed
