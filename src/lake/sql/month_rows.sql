-- One report month's rows, as appended (the Parquet writer puts them in the lake's order).
SELECT *
FROM rows
WHERE report_date_time >= TIMESTAMP '{from}' AND report_date_time < TIMESTAMP '{to}';
