-- Counts by offense sub-category and offense (the page drills down from the first to the second).
select offense_sub_category, offense, offense_category, sum(n)::bigint as count
from marts.api_offense_breakdown
where axis = $axis
  and month between $from::date and $to::date
  and ($category::varchar is null or offense_category = $category::varchar)
  and {area_predicate}
group by offense_sub_category, offense, offense_category
order by count desc, offense_sub_category, offense, offense_category
