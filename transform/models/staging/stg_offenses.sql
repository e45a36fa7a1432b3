-- The offenses under the name users' BI tools read (docs/ARCHITECTURE.md, the marts contract): one row per
-- offense_id, its latest version, categorized. The work is done in models/intermediate; this table is the one
-- stored copy of the offense rows (marts.fct_offenses is a view over it).
select * from {{ ref('int_offenses_categorized') }}
