-- Months where the lake manifest and the warehouse's own copy of it (`staging.lake_manifest`, loaded by the build)
-- disagree on rows or fetch time: the lake moved on since the published warehouse was built. $1: the manifest.
WITH lake AS (
    SELECT m ->> 'month' AS month, CAST(m ->> 'rows' AS BIGINT) AS n, left(m ->> 'fetched_at', 19) AS fetched_at
    FROM (SELECT unnest(from_json(json_extract(content, '$.months'), '["JSON"]')) AS m FROM read_text($1))
),
built AS (
    SELECT strftime(report_month, '%Y-%m') AS month, "rows" AS n, strftime(fetched_at, '%Y-%m-%dT%H:%M:%S') AS fetched_at
    FROM w.staging.lake_manifest
)
SELECT coalesce(lake.month, built.month) AS month, lake.n AS lake_rows, built.n AS built_rows
FROM lake FULL OUTER JOIN built ON lake.month = built.month
WHERE lake.n IS DISTINCT FROM built.n OR lake.fetched_at IS DISTINCT FROM built.fetched_at
ORDER BY 1
LIMIT 3;
