{#- The dashboard's category of an offense: SPD's own when it is one of the three, else the FBI class of its NIBRS
    code (the nibrs_offense_codes seed), else ALL OTHER. One rule for the facts (int_offenses_categorized) and
    for every stored version of a month (mart_revisions), so a revision's counts are the dashboard's. -#}
{% macro offense_category(spd_category, fbi_class) -%}
    case
        when {{ spd_category }} in ('VIOLENT CRIME', 'PROPERTY CRIME', 'ALL OTHER') then {{ spd_category }}
        when {{ fbi_class }} = 'violent' then 'VIOLENT CRIME'
        when {{ fbi_class }} = 'property' then 'PROPERTY CRIME'
        else 'ALL OTHER'
    end
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
