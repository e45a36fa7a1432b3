{{ config(materialized='view') }}

-- Offenses per axis × month × category × area (all four levels), with the month's flags: api_category_trend's
-- counts with the area key spelled out. A view over the stored counts, as mart_hour_weekday.
select
    t.axis,
    t.month,
    t.offense_category,
    a.precinct,
    a.sector,
    a.beat,
    a.neighborhood,
    t.n,
    d.is_partial,
    d.is_provisional
from {{ ref('api_category_trend') }} as t
inner join {{ ref('dim_area') }} as a on a.area_key = t.area_key
inner join {{ ref('dim_month') }} as d on d.month = t.month
