{#- Every fact row once per time axis: `occurred` (offense_date) and `reported` (report_date_time). Rows without
    the axis timestamp are left out of that axis only. `axis_ts` is the timestamp the month, hour and weekday
    come from. -#}
{% macro axis_events() -%}
    select 'occurred' as axis, offense_date as axis_ts, *
    from {{ ref('fct_offenses') }}
    where offense_date is not null
    union all
    select 'reported' as axis, report_date_time as axis_ts, *
    from {{ ref('fct_offenses') }}
    where report_date_time is not null
{%- endmacro %}
