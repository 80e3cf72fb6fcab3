{#- Fails on every row where the expression is false (dbt_utils-style, written here
    because dbt packages cannot be installed offline). -#}
{% test expression_is_true(model, expression, column_name=None, where=None) %}
select *
from {{ model }}
where not ({{ expression }})
{% if where %} and ({{ where }}) {% endif %}
{% endtest %}
