-- The fact table holds every lake row except the documented exclusions (see stg_offenses in schema.yml): rows
-- without an offense_id, and older versions of an offense_id that appears more than once. Both sides are
-- counted here from the lake itself; fails with one row when they differ.
with lake as (
    select
        count(*) as lake_rows,
        count(*) filter (where {{ clean_text('offense_id') }} is null) as rows_without_offense_id,
        count(distinct {{ clean_text('offense_id') }}) as distinct_offense_ids
    from {{ source('lake', 'spd_crime') }}
),

expected as (
    select
        lake_rows,
        rows_without_offense_id,
        lake_rows - rows_without_offense_id - distinct_offense_ids as superseded_versions,
        lake_rows
            - rows_without_offense_id
            - (lake_rows - rows_without_offense_id - distinct_offense_ids) as expected_fact_rows
    from lake
),

fact as (
    select count(*) as fact_rows from {{ ref('fct_offenses') }}
)

select
    expected.*,
    fact.fact_rows
from expected, fact
where fact.fact_rows <> expected.expected_fact_rows
