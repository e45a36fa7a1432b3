{{ config(materialized='ephemeral') }}

-- Every row of every stored version of every report month: the live month files and the versions they replaced
-- (lake/revisions/report_month=M/<replaced-at>/), with what dates each version. Ephemeral, like
-- stg_lake__spd_crime: mart_revisions counts it, so the published file holds no second copy of the rows.
--
-- A version is a folder: the live month's, or a replaced-at folder under revisions/. replaced_at comes from the
-- folder's name (UTC); fetched_at and partial (fetched while the month was still filling) from the version's own
-- record (_month.json, kept with it since crimewatch keeps it), NULL for a version kept without one
-- (has_record = false). A folder marked -damaged held bytes that
-- failed verification, not a version SPD published: left out. Files elsewhere (_staging/) are not versions.
with files as (
    select
        filename,
        regexp_extract(filename, '/(spd_crime|revisions)/report_month=([0-9]{4}-[0-9]{2})/(([^/]+)/)?[^/]+$', 1)
            as place,
        regexp_extract(filename, '/(spd_crime|revisions)/report_month=([0-9]{4}-[0-9]{2})/(([^/]+)/)?[^/]+$', 2)
            as month_text,
        regexp_extract(filename, '/(spd_crime|revisions)/report_month=([0-9]{4}-[0-9]{2})/(([^/]+)/)?[^/]+$', 4)
            as folder,
        upper({{ clean_text('offense_category') }}) as spd_offense_category,
        upper({{ clean_text('nibrs_offense_code') }}) as nibrs_offense_code
    from {{ source('lake', 'month_files') }}
),

records as (
    select
        regexp_extract(filename, '/report_month=([0-9]{4}-[0-9]{2})/([^/]+)/[^/]+$', 1) as month_text,
        regexp_extract(filename, '/report_month=([0-9]{4}-[0-9]{2})/([^/]+)/[^/]+$', 2) as folder,
        case when json_valid(content) then cast(left(content ->> 'fetched_at', 19) as timestamp) end as fetched_at,
        case when json_valid(content) then cast(content ->> 'rows' as bigint) end as record_rows,
        case when json_valid(content) then cast(content ->> 'partial' as boolean) end as record_partial
    from {{ source('lake', 'revision_records') }}
)

select
    cast(f.month_text || '-01' as date) as report_month,
    f.place = 'spd_crime' as is_live,
    case when f.place = 'revisions' then f.folder end as version_folder,
    case when f.place = 'revisions' then strptime(left(f.folder, 22), '%Y%m%dT%H%M%S.%f') end as replaced_at,
    r.fetched_at as record_fetched_at,
    r.record_rows,
    r.record_partial,
    r.folder is not null as has_record,
    f.spd_offense_category,
    f.nibrs_offense_code
from files as f
left join records as r
    on f.place = 'revisions' and r.month_text = f.month_text and r.folder = f.folder
where f.place in ('spd_crime', 'revisions')
    and (f.place = 'spd_crime' or f.folder not like '%-damaged%')
