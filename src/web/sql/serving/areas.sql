-- The serving index's copy of dim_area: the four area names of each area_key.
select area_key, precinct, sector, beat, neighborhood
from marts.dim_area
