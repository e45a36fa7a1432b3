{{ config(materialized='table') }}

-- The lake's rows, typed and cleaned, one row per offense_id (its latest version). Every rule is documented
-- column by column in schema.yml; nothing here aggregates or decides business questions.
with source as (
    select * from {{ source('lake', 'spd_crime') }}
),

cleaned as (
    select
        {{ clean_text('offense_id') }} as offense_id,
        {{ clean_text('report_number') }} as report_number,
        cast(report_month || '-01' as date) as report_month,
        {{ clean_timestamp('report_date_time') }} as report_date_time,
        {{ clean_timestamp('offense_date') }} as offense_date,
        {{ clean_timestamp('offense_end_date') }} as offense_end_date,
        upper({{ clean_text('offense_category') }}) as spd_offense_category,
        upper({{ clean_text('nibrs_crime_against_category') }}) as spd_crime_against,
        {{ clean_text('offense_sub_category') }} as offense_sub_category,
        {{ clean_text('nibrs_offense_code_description') }} as offense,
        upper({{ clean_text('nibrs_offense_code') }}) as nibrs_offense_code,
        upper({{ clean_text('nibrs_group_a_b') }}) as nibrs_group_a_b,
        {{ clean_text('shooting_type_group') }} as shooting_type_group,
        {{ clean_area('precinct', ['UNKNOWN', 'OOJ', '99', 'FK ERROR']) }} as precinct_code,
        {{ clean_area('sector', ['UNKNOWN', 'OOJ', '99', 'FK ERROR']) }} as sector,
        {{ clean_area('beat', ['UNKNOWN', 'OOJ', '99', 'FK ERROR']) }} as beat,
        {{ clean_area('neighborhood', ['UNKNOWN', 'OOJ', '99', 'FK ERROR']) }} as neighborhood,
        {{ clean_area('reporting_area', ['UNKNOWN', 'OOJ', '99', 'REDACTED']) }} as reporting_area,
        case
            when upper({{ clean_text('block_address') }}) = 'REDACTED' then null
            else {{ clean_text('block_address') }}
        end as block_address,
        latitude,
        longitude,
        extra_columns,
        source_row_id,
        source_updated_at,
        source_kind,
        filename as lake_file,
        file_row_number as lake_row
    from source
),

-- De-duplication looks at narrow keys only: ranking whole rows made DuckDB sort every column of 1.2M rows,
-- for ids that are almost all unique. The lake is read a second time (not through a CTE, which DuckDB would
-- materialize whole) and a row is named by its file and position.
keys as (
    select
        {{ clean_text('offense_id') }} as offense_id,
        filename as lake_file,
        file_row_number as lake_row,
        source_updated_at,
        {{ clean_timestamp('report_date_time') }} as report_date_time,
        report_month,
        source_row_id,
        {{ clean_text('report_number') }} as report_number,
        upper({{ clean_text('nibrs_offense_code') }}) as nibrs_offense_code,
        {{ clean_timestamp('offense_date') }} as offense_date
    from {{ source('lake', 'spd_crime') }}
),

superseded as (
    -- offense_id is the key within one download; an id seen more than once (a month re-fetched while the month
    -- an offense moved out of was not) keeps its newest version. The later keys only make the choice
    -- deterministic.
    select lake_file, lake_row
    from keys
    where offense_id in (
        select offense_id from keys where offense_id is not null group by offense_id having count(*) > 1
    )
    qualify row_number() over (
        partition by offense_id
        order by
            source_updated_at desc nulls last,
            report_date_time desc nulls last,
            report_month desc,
            source_row_id desc nulls last,
            report_number desc nulls last,
            nibrs_offense_code desc nulls last,
            offense_date desc nulls last
    ) > 1
),

latest as (
    select * exclude (lake_file, lake_row)
    from cleaned
    anti join superseded using (lake_file, lake_row)
    where offense_id is not null
),

precinct_names as (
    select upper(code) as code, precinct from {{ ref('precincts') }} where kind = 'precinct'
),

sector_precincts as (
    select upper(code) as code, precinct from {{ ref('precincts') }} where kind = 'sector'
),

nibrs as (
    select * from {{ ref('nibrs_offense_codes') }}
)

select
    l.offense_id,
    l.report_number,
    l.report_month,
    l.report_date_time,
    l.offense_date,
    l.offense_end_date,
    case
        when l.spd_offense_category in ('VIOLENT CRIME', 'PROPERTY CRIME', 'ALL OTHER') then l.spd_offense_category
        when n.fbi_class = 'violent' then 'VIOLENT CRIME'
        when n.fbi_class = 'property' then 'PROPERTY CRIME'
        else 'ALL OTHER'
    end as offense_category,
    case
        when l.spd_offense_category in ('VIOLENT CRIME', 'PROPERTY CRIME', 'ALL OTHER') then 'spd'
        when n.fbi_class is not null then 'nibrs_code'
        else 'default'
    end as offense_category_source,
    l.spd_offense_category,
    n.fbi_class as nibrs_fbi_class,
    coalesce(l.spd_crime_against, n.crime_against) as crime_against,
    l.offense_sub_category,
    l.offense,
    l.nibrs_offense_code,
    l.nibrs_group_a_b,
    l.shooting_type_group,
    coalesce(pn.precinct, l.precinct_code, sp.precinct) as precinct,
    l.sector,
    l.beat,
    l.neighborhood,
    l.reporting_area,
    l.block_address,
    case when in_seattle then l.latitude end as latitude,
    case when in_seattle then l.longitude end as longitude,
    l.extra_columns,
    l.source_row_id,
    l.source_updated_at,
    l.source_kind
from (
    select
        *,
        coalesce(latitude between 47.45 and 47.80 and longitude between -122.50 and -122.20, false) as in_seattle
    from latest
) as l
left join precinct_names as pn on pn.code = l.precinct_code
left join sector_precincts as sp on sp.code = l.sector
left join nibrs as n on n.nibrs_offense_code = l.nibrs_offense_code
