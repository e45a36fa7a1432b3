-- One month's Parquet file. The order makes unchanged data give byte-identical files: source row id, then
-- offense id, then enough columns to order CSV rows (no row id) that share an offense id.
-- zstd level 1: files 0.4% larger than the default level 3, written 12% faster (lake writes are most of an ingest).
COPY (
    SELECT *
    FROM rows
    WHERE report_date_time >= TIMESTAMP '{from}' AND report_date_time < TIMESTAMP '{to}'
    ORDER BY source_row_id NULLS FIRST, offense_id, report_number, report_date_time, offense_date,
             nibrs_offense_code, extra_columns
) TO '{path}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1);
