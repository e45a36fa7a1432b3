-- The delay distribution is a cumulative share (0 … 1, never falling, 1 at the window's end), and every nowcast
-- interval holds its nowcast, which is at least what is already observed. A row here is a bug in
-- mart_reporting_delay or mart_completeness.
with delay as (
    select
        offense_category,
        delay_months,
        share_reported,
        lag(share_reported) over (partition by offense_category order by delay_months) as previous_share,
        max(delay_months) over (partition by offense_category) as last_delay
    from {{ ref('mart_reporting_delay') }}
)

select offense_category, 'delay ' || delay_months as what
from delay
where share_reported < 0 or share_reported > 1 + 1e-9
    or share_reported < previous_share - 1e-9
    or (delay_months = last_delay and abs(share_reported - 1) > 1e-9)
union all
select offense_category, 'month ' || month as what
from {{ ref('mart_completeness') }}
where completeness < 0 or completeness > 1
    or (nowcast is not null and not (nowcast_low <= nowcast + 0.05 and nowcast <= nowcast_high + 0.05
        and nowcast_low >= observed - 0.05))
