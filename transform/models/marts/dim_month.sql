-- Every month either axis uses, with the flags the dashboard shows. Both flags come from the lake, never from
-- the wall clock, so crimewatch and dbt agree: a month is partial when the manifest says so (the month still
-- filling) or when it lies after the newest lake month; it is provisional when it is one of the
-- `provisional_months` months just before the newest lake month (SPD still revises them).
with lake as (
    select report_month, partial from {{ ref('lake_manifest') }}
),

newest as (
    select max(report_month) as newest_month from lake
),

-- The months of either axis are the months of the city-wide trend (one row per axis, month and category with
-- offenses), read here instead of the 1.2M facts.
months as (
    select month from {{ ref('api_category_trend') }} where area_key is null
    union
    select report_month as month from lake
)

select
    m.month,
    coalesce(l.partial, false) or m.month > n.newest_month as is_partial,
    m.month >= cast(n.newest_month - to_months({{ var('provisional_months') }}) as date)
        and m.month < n.newest_month as is_provisional
from months as m
cross join newest as n
left join lake as l on l.report_month = m.month
