-- One row per offense (int_offenses_latest's rows) with what the seeds decide: offense_category (SPD's own when
-- it is one of the three, else the FBI class of the NIBRS code), the crime-against category when SPD gives none,
-- and one precinct name for every spelling (or, with no precinct, the sector's precinct).
with offenses as (
    select * from {{ ref('int_offenses_latest') }}
),

precinct_names as (
    select upper(code) as code, precinct from {{ ref('precincts') }} where kind = 'precinct'
),

sector_precincts as (
    select upper(code) as code, precinct from {{ ref('precincts') }} where kind = 'sector'
),

nibrs as (
    select * from {{ ref('nibrs_offense_codes') }}
),

categorized as (
    select
        o.offense_id,
        o.report_number,
        o.report_month,
        o.report_date_time,
        o.offense_date,
        o.offense_end_date,
        {{ offense_category('o.spd_offense_category', 'n.fbi_class') }} as offense_category,
        case
            when o.spd_offense_category in ('VIOLENT CRIME', 'PROPERTY CRIME', 'ALL OTHER') then 'spd'
            when n.fbi_class is not null then 'nibrs_code'
            else 'default'
        end as offense_category_source,
        o.spd_offense_category,
        n.fbi_class as nibrs_fbi_class,
        coalesce(o.spd_crime_against, n.crime_against) as crime_against,
        o.offense_sub_category,
        o.offense,
        o.nibrs_offense_code,
        o.nibrs_group_a_b,
        o.shooting_type_group,
        coalesce(pn.precinct, o.precinct_code, sp.precinct) as precinct,
        o.sector,
        o.beat,
        o.neighborhood,
        o.reporting_area,
        o.block_address,
        o.latitude,
        o.longitude,
        o.extra_columns,
        o.source_row_id,
        o.source_updated_at,
        o.source_kind
    from offenses as o
    left join precinct_names as pn on pn.code = o.precinct_code
    left join sector_precincts as sp on sp.code = o.sector
    left join nibrs as n on n.nibrs_offense_code = o.nibrs_offense_code
)

select * from categorized
