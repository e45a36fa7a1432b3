-- The first and last area_key of an area (dim_area numbers the combinations in precinct, sector, beat,
-- neighborhood order, so a precinct's, sector's or beat's keys are contiguous; a neighborhood's may be spread
-- over a wider range). The api_* marts are stored in area_key order: a constant key range lets DuckDB skip the
-- row groups outside it. {level_column} is a fixed, allow-listed fragment.
select min(area_key) as lo, max(area_key) as hi
from marts.dim_area
where {level_column} = $area
