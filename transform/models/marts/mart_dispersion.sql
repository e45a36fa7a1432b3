-- How much monthly counts vary beyond Poisson chance: the dispersion φ of each kind of series the dashboard
-- compares year over year, per axis × category (and 'ALL', the three summed) × area level (and 'city', no area
-- filter). The API's rate-ratio intervals scale Poisson's variance by φ (quasi-Poisson; docs/reading-the-numbers.md).
--
-- Method: the seasonal model behind a year-over-year comparison says a month and the same month a year earlier
-- share one rate. Its Pearson χ² for one pair (a, b), with fitted mean (a + b)/2 for both, is (a − b)²/(a + b) on
-- one degree of freedom; given a + b, its expectation is exactly 1 for Poisson counts, however small, and φ for
-- overdispersed ones. φ is the mean over every pair of every series of the level (pairs with a + b = 0 carry no
-- information and are left out), floored at 1: a comparison is never treated as surer than Poisson chance.
-- Real trends add to φ, so it errs wide (fewer flags). Only final months enter: not partial, not provisional,
-- and the earlier month not before the lake's first report month (on the occurred axis such months hold only
-- late reports, near zero, and would inflate φ).
with lake as (
    select min(report_month) as first_lake_month from {{ ref('lake_manifest') }}
),

final_months as (
    select month from {{ ref('dim_month') }} where not is_partial and not is_provisional
),

by_area as (
    select axis, month, offense_category, area_level, area, n from {{ ref('mart_area_counts') }}
    union all
    -- The city: every precinct (and 'UNKNOWN') summed.
    select axis, month, offense_category, 'city' as area_level, 'city' as area, sum(n) as n
    from {{ ref('mart_area_counts') }}
    where area_level = 'precinct'
    group by axis, month, offense_category
),

series as (
    select * from by_area
    union all
    select axis, month, 'ALL' as offense_category, area_level, area, sum(n) as n
    from by_area
    group by axis, month, area_level, area
),

-- A month and the same month a year earlier; a month with no offenses has no row, hence the full join.
pairs as (
    select
        coalesce(cur.axis, prev.axis) as axis,
        coalesce(cur.offense_category, prev.offense_category) as offense_category,
        coalesce(cur.area_level, prev.area_level) as area_level,
        coalesce(cur.month, cast(prev.month + interval 12 month as date)) as month,
        coalesce(cur.n, 0) as a,
        coalesce(prev.n, 0) as b
    from series as cur
    full join series as prev
        on prev.axis = cur.axis
        and prev.offense_category = cur.offense_category
        and prev.area_level = cur.area_level
        and prev.area = cur.area
        and prev.month = cast(cur.month - interval 12 month as date)
)

select
    p.axis,
    p.offense_category,
    p.area_level,
    -- Rounded: a parallel sum's last bits depend on the order rows arrive in, and two builds must agree.
    round(greatest(1.0, avg(cast((p.a - p.b) * (p.a - p.b) as double) / (p.a + p.b))), 6) as phi,
    count(*) as pairs,
    any_value(l.first_lake_month) as first_lake_month
from pairs as p
cross join lake as l
where p.a + p.b > 0
    and cast(p.month - interval 12 month as date) >= l.first_lake_month
    and p.month in (select month from final_months)
group by p.axis, p.offense_category, p.area_level
