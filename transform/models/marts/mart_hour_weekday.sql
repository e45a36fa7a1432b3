{{ config(materialized='view') }}

-- Offenses per axis × month × category × hour of day × weekday × area (all four levels): api_hour_weekday's
-- counts with the area key spelled out. A view, unlike most marts: the counts are stored once, at the
-- dashboard's grain; this join over them costs a reader a fraction of a second. Hour and weekday come from the
-- axis timestamp (Seattle local time as published); weekday 0 = Monday … 6 = Sunday.
select
    h.axis,
    h.month,
    h.offense_category,
    h.hour,
    h.weekday,
    a.precinct,
    a.sector,
    a.beat,
    a.neighborhood,
    h.n
from {{ ref('api_hour_weekday') }} as h
inner join {{ ref('dim_area') }} as a on a.area_key = h.area_key
