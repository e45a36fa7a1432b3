{#- When the build started, UTC, as a TIMESTAMP literal (dbt's run_started_at; crimewatch provides the same). -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}
