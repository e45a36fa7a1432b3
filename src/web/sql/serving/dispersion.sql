-- The serving index's copy of mart_dispersion: φ per axis × area level × category, and the lake's first report
-- month (src/web/significance.rs).
select axis, area_level, offense_category, phi, strftime(first_lake_month, '%Y-%m') as first_lake_month
from marts.mart_dispersion
