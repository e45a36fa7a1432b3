-- mart_dispersion's φ is never below Poisson's 1 and always rests on at least one pair; a row here is a bug in
-- the model (a comparison would be treated as surer than chance allows).
select axis, offense_category, area_level, phi, pairs
from {{ ref('mart_dispersion') }}
where phi < 1 or pairs < 1 or isnan(phi) or isinf(phi)
