{#- The rows of `relation` (counts `n` per axis × area_key × month × `columns`), then the whole city's counts
    (summed over areas, area_key NULL), stored in (axis, area_key) order so a filter on an area or on the city
    reads only the row groups that hold it. -#}
{% macro with_city_rollup(relation, columns) -%}
select * from {{ relation }}
union all
select axis, null::integer as area_key, month{% for c in columns %}, {{ c }}{% endfor %}, cast(sum(n) as bigint) as n
from {{ relation }}
group by all
order by axis, area_key nulls first
{%- endmacro %}
