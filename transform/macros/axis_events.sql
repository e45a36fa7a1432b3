{#- Every fact row once per time axis, with its area_key (dim_area), its category as `category_code` (the
    macro of that name, in offense_category.sql) and the fact columns named in `columns`: `occurred`
    (offense_date) and `reported` (report_date_time), told apart by `is_reported`. Rows without the axis timestamp are left out of that axis
    only. `axis_ts` is the timestamp the month, hour and weekday come from. Each axis reads the fact table itself:
    a CTE read by both would be stored by DuckDB first. The axis and the category are small codes, not their
    names, because the api_* marts group 2.4M of these rows at a grain nearly as fine: 'VIOLENT CRIME' and
    'PROPERTY CRIME' are longer than the 12 bytes DuckDB keeps inline, and grouping by their text cost a quarter
    more CPU (with_city_rollup puts the names back). -#}
{% macro axis_events(columns) -%}
    {%- for is_reported, ts in [('false', 'offense_date'), ('true', 'report_date_time')] %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ is_reported }} as is_reported,
        f.{{ ts }} as axis_ts,
        a.area_key,
        {{ category_code('f.offense_category') }} as category_code{% for c in columns %},
        f.{{ c }}{% endfor %}
    from {{ ref('fct_offenses') }} as f
    inner join {{ ref('dim_area') }} as a using (precinct, sector, beat, neighborhood)
    where f.{{ ts }} is not null
    {%- endfor %}
{%- endmacro %}
