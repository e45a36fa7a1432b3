-- One row per offense_id: its latest version among the lake's rows. offense_id is the key within one download;
-- an id seen more than once (a month re-fetched while the month an offense moved out of was not) keeps the
-- version with the newest source_updated_at, then the newest report_date_time; the later keys only make the
-- choice deterministic. Rows without an offense_id are left out (they cannot be keyed). These are the only rows
-- the warehouse drops.
with lake_rows as (
    select * from {{ ref('stg_lake__spd_crime') }}
),

-- Ranking looks at narrow keys only: ranking whole rows made DuckDB sort every column of 1.2M rows, for ids
-- that are almost all unique. A row is named by its lake file and position.
keys as (
    select
        offense_id,
        lake_file,
        lake_row,
        source_updated_at,
        report_date_time,
        report_month,
        source_row_id,
        report_number,
        nibrs_offense_code,
        offense_date
    from {{ ref('stg_lake__spd_crime') }}
),

superseded as (
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
    from lake_rows
    anti join superseded using (lake_file, lake_row)
    where offense_id is not null
)

select * from latest
