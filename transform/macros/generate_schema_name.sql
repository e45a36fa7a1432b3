{#- dbt's default would name custom schemas `<target>_staging`; crimewatch builds `staging` and `marts`
    exactly, so the two tools produce the same tables. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
