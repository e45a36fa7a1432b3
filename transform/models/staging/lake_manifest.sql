-- One row per report month listed in the lake manifest (`quarantined`: 0 in manifests written before it existed).
-- The file is read as text and parsed with DuckDB's JSON functions, so no type is guessed; `fetched_at` is UTC
-- (`...Z`), kept as a plain TIMESTAMP.
with manifest as (
    select content from {{ source('lake', 'manifest') }}
),

months as (
    select unnest(from_json(json_extract(content, '$.months'), '["JSON"]')) as m
    from manifest
)

select
    cast((m ->> 'month') || '-01' as date) as report_month,
    cast(m ->> 'rows' as bigint) as "rows",
    coalesce(cast(m ->> 'quarantined' as bigint), 0) as quarantined,
    cast(m ->> 'partial' as boolean) as partial,
    cast(left(m ->> 'fetched_at', 19) as timestamp) as fetched_at
from months
