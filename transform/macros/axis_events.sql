{#- Every fact row once per time axis, with its area_key (dim_area), its category as `category_code`
    (category_code below) and the fact columns named in `columns`: `occurred` (offense_date) and `reported`
    (report_date_time), told apart by `is_reported`. Rows without the axis timestamp are left out of that axis
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

{#- The dashboard's three categories as 0, 1, 2 (anything else as NULL, which category_name keeps NULL: the
    accepted_values tests on offense_category then see it). -#}
{% macro category_code(column) -%}
    case {{ column }} when 'VIOLENT CRIME' then 0 when 'PROPERTY CRIME' then 1 when 'ALL OTHER' then 2 end
{%- endmacro %}

{#- The inverse of category_code. -#}
{% macro category_name(code) -%}
    case {{ code }} when 0 then 'VIOLENT CRIME' when 1 then 'PROPERTY CRIME' when 2 then 'ALL OTHER' end
{%- endmacro %}
