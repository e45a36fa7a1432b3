-- How complete each recent occurrence month is, per category (and 'ALL'), and a nowcast of its final count with a
-- 95% interval (docs/reading-the-numbers.md). Recent = fewer than `completeness_window_months` months before the
-- newest lake month; older months count as complete.
--
-- completeness p = mart_reporting_delay's share reported within k months, k = newest lake month − the month.
-- nowcast = observed / p. Interval: the observed count plus a quasi-Poisson predictive for the unreported part.
-- With final count ~ rate λ, reported N ~ λp, unreported U ~ λ(1 − p), λ estimated by N/p, the prediction error
-- of U has variance φ·λ(1 − p)/p² ≈ φ·(N + 1)(1 − p)/p² (N + 1 so a month with nothing yet reported still gets
-- a width), φ from mart_dispersion (occurred axis, the city, the category; 1 when unknown); plus the error of p
-- itself, binomial over the reference offenses R, carried by the delta method: N²·p(1 − p)/R / p⁴. The low end
-- never goes below the observed count.
with lake as (
    select max(report_month) as newest_month from {{ ref('lake_manifest') }}
),

observed as (
    select month, offense_category, sum(n) as observed
    from {{ ref('mart_category_trend') }}
    where axis = 'occurred'
    group by all
    union all
    select month, 'ALL' as offense_category, sum(n) as observed
    from {{ ref('mart_category_trend') }}
    where axis = 'occurred'
    group by month
),

recent as (
    select cast(l.newest_month - to_months(k.range) as date) as month, cast(k.range as integer) as months_since
    from lake as l
    cross join range(0, {{ var('completeness_window_months') }}) as k
),

joined as (
    select
        r.month,
        d.offense_category,
        coalesce(o.observed, 0) as observed,
        d.share_reported as p,
        d.reference_offenses,
        coalesce(ph.phi, 1.0) as phi
    from recent as r
    inner join {{ ref('mart_reporting_delay') }} as d on d.delay_months = r.months_since
    left join observed as o on o.month = r.month and o.offense_category = d.offense_category
    left join {{ ref('mart_dispersion') }} as ph
        on ph.axis = 'occurred' and ph.area_level = 'city' and ph.offense_category = d.offense_category
),

estimated as (
    select
        *,
        case when p > 0 then observed / p end as nowcast,
        case when p > 0 then sqrt(
            phi * (observed + 1) * (1 - p) / (p * p)
            + observed * observed * (p * (1 - p) / reference_offenses) / (p * p * p * p)
        ) end as nowcast_sd
    from joined
)

select
    month,
    offense_category,
    cast(observed as bigint) as observed,
    round(p, 4) as completeness,
    round(nowcast, 1) as nowcast,
    round(observed + greatest(0, nowcast - observed - 1.959964 * nowcast_sd), 1) as nowcast_low,
    round(nowcast + 1.959964 * nowcast_sd, 1) as nowcast_high
from estimated
