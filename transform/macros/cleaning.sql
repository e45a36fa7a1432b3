{#- Cleaning rules shared by the staging model (stg_lake__spd_crime) and the tests that recount the lake. -#}

{#- Text as published, trimmed; '' and '-' (SPD's "no value") become NULL. -#}
{% macro clean_text(column) -%}
    nullif(nullif(trim({{ column }}), ''), '-')
{%- endmacro %}

{#- An area code, upper-cased, with SPD's placeholders for "no area" as NULL. -#}
{% macro clean_area(column, placeholders) -%}
    case
        when upper({{ clean_text(column) }}) in ({% for p in placeholders %}'{{ p }}'{% if not loop.last %}, {% endif %}{% endfor %}) then null
        else upper({{ clean_text(column) }})
    end
{%- endmacro %}

{#- Dates before 1901 are SPD's `1900-01-01` placeholder for "unknown". -#}
{% macro clean_timestamp(column) -%}
    case when {{ column }} >= timestamp '1901-01-01' then {{ column }} end
{%- endmacro %}

{#- True when a point lies in a box around Seattle; 0, -1, 89.99… and swapped values are placeholders or bad
    geocodes. NULL (not true) when either coordinate is missing. -#}
{% macro in_seattle(latitude, longitude) -%}
    ({{ latitude }} between 47.45 and 47.80 and {{ longitude }} between -122.50 and -122.20)
{%- endmacro %}
