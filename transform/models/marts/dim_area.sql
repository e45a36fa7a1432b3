-- Every combination of the four area columns that the offenses use, numbered: area_key stands for all four in
-- the api_* marts, so a filter on any one level is a set of keys, and the keys of one precinct, sector or beat
-- are contiguous (numbered in precinct, sector, beat, neighborhood order) in marts stored in key order.
with areas as (
    select distinct precinct, sector, beat, neighborhood
    from {{ ref('fct_offenses') }}
)

select
    cast(row_number() over (order by precinct, sector, beat, neighborhood) as integer) as area_key,
    precinct,
    sector,
    beat,
    neighborhood
from areas
