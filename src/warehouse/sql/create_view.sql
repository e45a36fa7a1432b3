create view {{ relation }} as (
{{ sql }}
)
