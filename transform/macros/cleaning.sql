{#- Cleaning rules shared by the staging model and the tests that recount the lake. -#}

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
