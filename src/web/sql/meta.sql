-- Data as of: when the warehouse was built, when the lake last fetched, the source's last update; rows that could
-- not be read (quarantined).
select
    strftime(built_at, '%Y-%m-%dT%H:%M:%SZ') as built_at,
    strftime(last_fetched_at, '%Y-%m-%dT%H:%M:%SZ') as last_fetched_at,
    strftime(source_max_updated_at, '%Y-%m-%dT%H:%M:%SZ') as source_max_updated_at,
    lake_rows::bigint as lake_rows,
    fact_rows::bigint as fact_rows,
    excluded_rows::bigint as excluded_rows,
    quarantined_rows::bigint as quarantined_rows
from marts.meta_build
limit 1
