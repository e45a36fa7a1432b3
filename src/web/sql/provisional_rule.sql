-- How the build flagged provisional months (marts.meta_build): 'completeness' (less than complete_share reported)
-- or 'fixed' (the provisional_months months before the newest lake month: too little history to measure delays).
select provisional_method, complete_share::double as complete_share, provisional_months::integer as provisional_months
from marts.meta_build
limit 1
