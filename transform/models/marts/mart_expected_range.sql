-- The range each month's count is expected in from the same month of previous years, for the city, per axis ×
-- category (and 'ALL'): the trend's "expected range" band (docs/reading-the-numbers.md, "Is the change real?").
--
-- Method: the seasonal mean μ of the same calendar month in the `expected_range_years` (default 3) years before,
-- counting only final months (not partial, not provisional) not before the lake's first report month (on the
-- occurred axis earlier months hold only late reports); at least `expected_range_min_years` (default 2) of them,
-- else no row. A new count is quasi-Poisson around μ, and μ itself is estimated from Y years, so
--     expected_low, expected_high = μ ∓ 1.96·√(φ·μ·(1 + 1/Y))    (the low end floored at 0)
-- with φ from mart_dispersion (the axis, the city, the category; 1 when unknown). A count outside the range is
-- unusual for its season; inside it, the month is what the same month usually is.
with lake as (
    select min(report_month) as first_lake_month from {{ ref('lake_manifest') }}
),

months as (
    select month, not is_partial and not is_provisional as is_final from {{ ref('dim_month') }}
),

city as (
    select axis, month, offense_category, sum(n) as n
    from {{ ref('api_category_trend') }}
    where area_key is null
    group by all
    union all
    select axis, month, 'ALL' as offense_category, sum(n) as n
    from {{ ref('api_category_trend') }}
    where area_key is null
    group by axis, month
),

grid as (
    select a.axis, m.month, c.offense_category
    from (select distinct axis from city) as a
    cross join (select distinct offense_category from city) as c
    cross join months as m
),

-- Each month's earlier same months that may enter: final and not before the lake.
earlier as (
    select
        g.axis,
        g.month,
        g.offense_category,
        coalesce(s.n, 0) as n
    from grid as g
    cross join range(1, {{ var('expected_range_years') }} + 1) as k
    cross join lake as l
    inner join months as p on p.month = cast(g.month - to_years(cast(k.range as integer)) as date) and p.is_final
    left join city as s
        on s.axis = g.axis and s.offense_category = g.offense_category and s.month = p.month
    where p.month >= l.first_lake_month
),

seasonal as (
    select axis, month, offense_category, avg(n) as mu, count(*) as years
    from earlier
    group by all
    having count(*) >= {{ var('expected_range_min_years') }}
)

select
    s.axis,
    s.month,
    s.offense_category,
    cast(s.years as integer) as years,
    round(s.mu, 1) as expected,
    round(greatest(0, s.mu - 1.959964 * sqrt(coalesce(d.phi, 1.0) * s.mu * (1 + 1.0 / s.years))), 1) as expected_low,
    round(s.mu + 1.959964 * sqrt(coalesce(d.phi, 1.0) * s.mu * (1 + 1.0 / s.years)), 1) as expected_high
from seasonal as s
left join {{ ref('mart_dispersion') }} as d
    on d.axis = s.axis and d.area_level = 'city' and d.offense_category = s.offense_category
