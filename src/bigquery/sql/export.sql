-- One table as a Parquet file for a BigQuery load job, columns in the table's order, typed as BigQuery expects
-- (floating local times as TIMESTAMP, UTC instants as TIMESTAMPTZ).
COPY (SELECT {columns} FROM {relation}) TO '{path}' (FORMAT parquet, COMPRESSION zstd);
