-- The month files the lake manifest lists (the manifest is the lake's truth: a file it does not name is not read).
-- $1: the manifest's path.
WITH months AS (
    SELECT unnest(from_json(json_extract(content, '$.months'), '["JSON"]')) AS m
    FROM read_text($1)
)
SELECT m ->> 'month' AS month, m ->> 'file' AS file
FROM months
ORDER BY 1;
