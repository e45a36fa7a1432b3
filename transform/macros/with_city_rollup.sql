{#- The rows of `relation` (counts `n` per is_reported × area_key × month × category_code × `columns`, from
    axis_events), then the whole city's counts (summed over areas, area_key NULL), with the axis and the category
    named again: axis, area_key, month, offense_category, `columns`, n. In no particular order (the web loads
    these tables whole; ordering 2.3M rows cost ~0.3 CPU-s a build). -#}
{% macro with_city_rollup(relation, columns) -%}
select
    case when is_reported then 'reported' else 'occurred' end as axis,
    area_key,
    month,
    {{ category_name('category_code') }} as offense_category{% for c in columns %},
    {{ c }}{% endfor %},
    n
from (
    select * from {{ relation }}
    union all
    select is_reported, null::integer as area_key, month, category_code{% for c in columns %}, {{ c }}{% endfor %}, cast(sum(n) as bigint) as n
    from {{ relation }}
    group by all
) as rolled_up
{%- endmacro %}
