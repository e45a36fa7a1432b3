{#- Every fact row once per time axis, with its area_key (dim_area) and the fact columns named in `columns`:
    `occurred` (offense_date) and `reported` (report_date_time). Rows without the axis timestamp are left out of
    that axis only. `axis_ts` is the timestamp the month, hour and weekday come from. Each axis reads the fact
    table itself: a CTE read by both would be stored by DuckDB first. -#}
{% macro axis_events(columns) -%}
    {%- for axis, ts in [('occurred', 'offense_date'), ('reported', 'report_date_time')] %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select '{{ axis }}' as axis, f.{{ ts }} as axis_ts, a.area_key{% for c in columns %}, f.{{ c }}{% endfor %}
    from {{ ref('fct_offenses') }} as f
    inner join {{ ref('dim_area') }} as a using (precinct, sector, beat, neighborhood)
    where f.{{ ts }} is not null
    {%- endfor %}
{%- endmacro %}
