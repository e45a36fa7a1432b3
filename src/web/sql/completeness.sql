-- Recent occurrence months: how complete each is and the nowcast of its final count (marts.mart_completeness).
select
    strftime(month, '%Y-%m') as month,
    offense_category,
    observed::bigint as observed,
    completeness::double as completeness,
    nowcast::double as nowcast,
    nowcast_low::double as nowcast_low,
    nowcast_high::double as nowcast_high
from marts.mart_completeness
order by month, offense_category
