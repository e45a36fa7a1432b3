{{ config(severity='warn') }}

-- Where SPD's own offense_category differs from the FBI class of the row's NIBRS code (nibrs_offense_codes
-- seed), one row per combination with its count. A warning: SPD's category stays the one the marts use.
select
    spd_offense_category,
    nibrs_offense_code,
    nibrs_fbi_class,
    count(*) as offenses
from {{ ref('stg_offenses') }}
where spd_offense_category is not null
    and nibrs_fbi_class is not null
    and spd_offense_category <> case nibrs_fbi_class
        when 'violent' then 'VIOLENT CRIME'
        when 'property' then 'PROPERTY CRIME'
        else 'ALL OTHER'
    end
group by all
