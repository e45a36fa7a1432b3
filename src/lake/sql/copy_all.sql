-- A whole SODA month: the server decided which rows belong to it, so no date filter here.
-- zstd level 1: files 0.4% larger than the default level 3, written 12% faster (lake writes are most of an ingest).
COPY (
    SELECT *
    FROM rows
    ORDER BY source_row_id NULLS FIRST, offense_id, report_number, report_date_time, offense_date,
             nibrs_offense_code, extra_columns
) TO '{path}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1);
