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
