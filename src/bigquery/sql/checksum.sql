-- A table's content checksum: its BigQuery schema ($1), row count and an order-independent sum of row hashes.
-- Equal checksums mean nothing to load; DuckDB's hash() may change across DuckDB versions, which costs one reload.
SELECT md5($1 || '|' || count(*) || '|' || coalesce(sum(hash(t)), 0))
FROM (SELECT {columns} FROM {relation}) AS t;
