-- Per report month that SPD revised and category (and 'ALL'): the count when first fetched complete against the
-- count now, and how many complete versions the lake holds (/api/revisions). Only versions fetched after the
-- month ended count: while a month fills, each fetch replaces the last (the month growing, not a revision).
-- A month is revised when it has a kept complete version, live or deleted since. "Now" is the live version; 0
-- when the source deleted the month (the deletion counts as its last version). first_fetched_at is NULL when the first complete version was kept without
-- its record. age_months: whole months from the report month to its first complete fetch (NULL when unknown),
-- the age mart_revision_drift groups by.
with versions as (
    select * from {{ ref('mart_revisions') }} where not fetched_partial
),

firsts as (
    select report_month, min(version) as first_version
    from versions
    group by report_month
    having bool_or(not is_live)
)

select
    v.report_month as month,
    v.offense_category,
    max(v.fetched_at) filter (where v.version = f.first_version) as first_fetched_at,
    cast(max(v."rows") filter (where v.version = f.first_version) as bigint) as first_count,
    cast(coalesce(max(v."rows") filter (where v.is_live), 0) as bigint) as "count",
    cast(count(*) + (not bool_or(v.is_live))::integer as integer) as versions,
    bool_or(v.is_live) as is_live,
    date_diff(
        'month',
        v.report_month,
        cast(date_trunc('month', max(v.fetched_at) filter (where v.version = f.first_version)) as date)
    ) as age_months
from versions as v
inner join firsts as f on f.report_month = v.report_month
group by v.report_month, v.offense_category
