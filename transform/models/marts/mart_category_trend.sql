-- Offenses per axis × month × category × area (all four levels), with the month's flags.
with events as (
    {{ axis_events() }}
),

counted as (
    select
        axis,
        cast(date_trunc('month', axis_ts) as date) as month,
        offense_category,
        precinct,
        sector,
        beat,
        neighborhood,
        count(*) as n
    from events
    group by all
)

select
    c.axis,
    c.month,
    c.offense_category,
    c.precinct,
    c.sector,
    c.beat,
    c.neighborhood,
    c.n,
    d.is_partial,
    d.is_provisional
from counted as c
inner join {{ ref('dim_month') }} as d on d.month = c.month
