{{ config(materialized='view') }}

-- Offenses per axis × month × category × sub-category → offense × area (all four levels): api_offense_breakdown's
-- counts with the area key spelled out. A view over the stored counts, as mart_hour_weekday. A missing
-- sub-category or offense description is 'UNKNOWN'.
select
    o.axis,
    o.month,
    o.offense_category,
    o.offense_sub_category,
    o.offense,
    a.precinct,
    a.sector,
    a.beat,
    a.neighborhood,
    o.n
from {{ ref('api_offense_breakdown') }} as o
inner join {{ ref('dim_area') }} as a on a.area_key = o.area_key
