create table {{ relation }} as (
{{ sql }}
)
