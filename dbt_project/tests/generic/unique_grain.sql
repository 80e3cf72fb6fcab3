{#- The model's stated grain: no two rows share these columns' values (nulls count as
    values). Written here because dbt packages (dbt_utils) cannot be installed offline. -#}
{% test unique_grain(model, columns) %}
select
    {{ columns | join(", ") }},
    count(*) as rows_at_grain
from {{ model }}
group by {{ columns | join(", ") }}
having count(*) > 1
{% endtest %}
