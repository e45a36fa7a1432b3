-- Every table and view of the published warehouse's `marts` schema with its columns in order: what lands in
-- BigQuery's marts dataset, under the same names.
SELECT c.table_name, c.column_name, c.data_type
FROM information_schema.columns AS c
WHERE c.table_catalog = 'w' AND c.table_schema = 'marts'
ORDER BY c.table_name, c.ordinal_position;
