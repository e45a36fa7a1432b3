{{ config(severity='warn') }}

-- Offenses whose start lies after their report by more than `future_offense_tolerance_hours` (default 24):
-- usually a typo at SPD. Reported as a warning with the count; the rows stay in the marts.
select
    offense_id,
    report_number,
    offense_date,
    report_date_time
from {{ ref('fct_offenses') }}
where offense_date > report_date_time + to_hours(cast({{ var('future_offense_tolerance_hours') }} as bigint))
