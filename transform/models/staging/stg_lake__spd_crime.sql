{{ config(materialized='ephemeral') }}

-- The lake's rows renamed, typed and cleaned: one row per lake row, nothing left out, joined or decided (each
-- rule is documented on its column in stg_lake__spd_crime.yml). Ephemeral, unlike the rest of staging: it is
-- inlined into the models that read it, so the published file holds neither a second copy of the rows nor a
-- view that reads lake paths.
with source as (
    select * from {{ source('lake', 'spd_crime') }}
),

renamed as (
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
        case when {{ in_seattle('latitude', 'longitude') }} then latitude end as latitude,
        case when {{ in_seattle('latitude', 'longitude') }} then longitude end as longitude,
        extra_columns,
        source_row_id,
        source_updated_at,
        source_kind,
        filename as lake_file,
        file_row_number as lake_row
    from source
)

select * from renamed
