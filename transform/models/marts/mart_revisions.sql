-- Every stored version of every report month, with its rows per category (and 'ALL'): how SPD revised the
-- months (docs/reading-the-numbers.md, "How final are the numbers?"). A version is the live month file or one
-- kept under lake/revisions/; `version` numbers them from the oldest (1) by when they were replaced, the live one
-- last. fetched_at: the manifest's for the live version, the version's record for a kept one (NULL when it was
-- kept without a record: fetched_at_known = false). fetched_partial: the version was fetched while its month
-- was still filling (the record's partial flag; without a record, replaced before the month ended) — the month
-- growing, not SPD revising it. Rows are the version's lake rows, categorized as the facts are
-- (the offense_category macro), before de-duplication across months.
with lake_rows as (
    select
        r.*,
        {{ offense_category('r.spd_offense_category', 'n.fbi_class') }} as offense_category
    from {{ ref('stg_lake__revisions') }} as r
    left join {{ ref('nibrs_offense_codes') }} as n on n.nibrs_offense_code = r.nibrs_offense_code
),

versions as (
    select
        report_month,
        is_live,
        version_folder,
        any_value(replaced_at) as replaced_at,
        any_value(record_fetched_at) as record_fetched_at,
        any_value(record_partial) as record_partial,
        bool_or(has_record) as has_record
    from lake_rows
    group by report_month, is_live, version_folder
),

numbered as (
    select
        v.*,
        cast(row_number() over (
            partition by v.report_month order by v.is_live, v.replaced_at, v.version_folder
        ) as integer) as version,
        case when v.is_live then m.fetched_at else v.record_fetched_at end as fetched_at,
        -- Without a record: replaced before the month ended, so fetched while it was filling.
        case
            when v.is_live then coalesce(m.partial, false)
            else coalesce(v.record_partial, v.replaced_at < v.report_month + interval 1 month)
        end as fetched_partial
    from versions as v
    left join {{ ref('lake_manifest') }} as m on v.is_live and m.report_month = v.report_month
),

counts as (
    select report_month, is_live, version_folder, offense_category, count(*) as n
    from lake_rows
    group by all
    union all
    select report_month, is_live, version_folder, 'ALL' as offense_category, count(*) as n
    from lake_rows
    group by all
),

categories as (
    select unnest(['VIOLENT CRIME', 'PROPERTY CRIME', 'ALL OTHER', 'ALL']) as offense_category
)

select
    v.report_month,
    v.version,
    v.is_live,
    v.version_folder,
    v.replaced_at,
    v.fetched_at,
    v.is_live or v.has_record as fetched_at_known,
    v.fetched_partial,
    k.offense_category,
    cast(coalesce(c.n, 0) as bigint) as "rows"
from numbered as v
cross join categories as k
left join counts as c
    on c.report_month = v.report_month
    and c.is_live = v.is_live
    and c.version_folder is not distinct from v.version_folder
    and c.offense_category = k.offense_category
