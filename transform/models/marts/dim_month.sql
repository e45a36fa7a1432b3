-- Every month either axis uses, with the flags the dashboard shows. Both flags come from the lake, never from
-- the wall clock, so crimewatch and dbt agree: a month is partial when the manifest says so (the month still
-- filling) or when it lies after the newest lake month.
--
-- A month is provisional when it is not partial and less than `complete_share` (default 0.95) of its offenses has
-- been reported: its completeness is mart_reporting_delay's share reported within k months, k = the newest lake
-- month − the month, for all categories together ('ALL'). One flag per month, shared by every category and both
-- axes: the page shades a month, not a series, and a small category's share rests on few offenses. Months k ≥
-- `completeness_window_months` back count as complete. When the distribution rests on fewer than
-- `completeness_min_reference` offenses (too little history), the months are flagged as before the data could
-- say: the `provisional_months` months just before the newest lake month. meta_build names the method used.
with lake as (
    select report_month, partial from {{ ref('lake_manifest') }}
),

newest as (
    select max(report_month) as newest_month from lake
),

delay as (
    select delay_months, share_reported, reference_offenses >= {{ var('completeness_min_reference') }} as measured
    from {{ ref('mart_reporting_delay') }}
    where offense_category = 'ALL'
),

measured as (
    select coalesce(bool_or(measured), false) as measured from delay
),

-- The months of either axis are the months of the city-wide trend (one row per axis, month and category with
-- offenses), read here instead of the 1.2M facts.
months as (
    select month from {{ ref('api_category_trend') }} where area_key is null
    union
    select report_month as month from lake
),

flagged as (
    select
        m.month,
        coalesce(l.partial, false) or m.month > n.newest_month as is_partial,
        case
            when s.measured then coalesce(d.share_reported < {{ var('complete_share') }}, false)
            else m.month >= cast(n.newest_month - to_months({{ var('provisional_months') }}) as date)
                and m.month < n.newest_month
        end as below_share
    from months as m
    cross join newest as n
    cross join measured as s
    left join lake as l on l.report_month = m.month
    left join delay as d on d.delay_months = date_diff('month', m.month, n.newest_month)
)

select month, is_partial, below_share and not is_partial as is_provisional
from flagged
