-- The reporting-delay distribution per category (and 'ALL'): the share of an occurrence month's offenses reported
-- within d whole months (d = report month − occurrence month, 0 … W), measured from the data.
--
-- Method (docs/reading-the-numbers.md, "How complete is a recent month?"): an occurrence month W =
-- `completeness_window_months` months or more before the newest lake month is "old enough": its offenses
-- reported within W months have all been seen. The distribution is measured on the R =
-- `completeness_reference_months` occurrence months just old enough (recent, so a changed reporting practice
-- shows soon; several, so the shares rest on many offenses), none before the lake's first report month (whose
-- early reports the lake lacks). Reports later than W months are left out of both numerator and denominator:
-- the shares are of what arrives within W months. Assumption: the distribution is the same for recent months
-- (stationarity). A report dated before its offense counts as delay 0.
with lake as (
    select max(report_month) as newest_month, min(report_month) as first_lake_month
    from {{ ref('lake_manifest') }}
),

reference as (
    select
        f.offense_category,
        greatest(0, date_diff('month', date_trunc('month', f.offense_date), date_trunc('month', f.report_date_time)))
            as delay_months
    from {{ ref('fct_offenses') }} as f
    cross join lake as l
    where f.offense_date is not null
        and f.report_date_time is not null
        and cast(date_trunc('month', f.offense_date) as date)
            between cast(l.newest_month - to_months({{ var('completeness_window_months') }} + {{ var('completeness_reference_months') }} - 1) as date)
            and cast(l.newest_month - to_months({{ var('completeness_window_months') }}) as date)
        and cast(date_trunc('month', f.offense_date) as date) >= l.first_lake_month
),

within_window as (
    select offense_category, delay_months from reference
    where delay_months <= {{ var('completeness_window_months') }}
    union all
    select 'ALL' as offense_category, delay_months from reference
    where delay_months <= {{ var('completeness_window_months') }}
),

histogram as (
    select offense_category, delay_months, count(*) as n from within_window group by all
),

totals as (
    select offense_category, count(*) as reference_offenses from within_window group by all
),

grid as (
    select t.offense_category, d.delay_months, t.reference_offenses
    from totals as t
    cross join (select range as delay_months from range(0, {{ var('completeness_window_months') }} + 1)) as d
)

select
    g.offense_category,
    cast(g.delay_months as integer) as delay_months,
    g.reference_offenses,
    sum(coalesce(h.n, 0)) over (partition by g.offense_category order by g.delay_months) / g.reference_offenses
        as share_reported
from grid as g
left join histogram as h on h.offense_category = g.offense_category and h.delay_months = g.delay_months
