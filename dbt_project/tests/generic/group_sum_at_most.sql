{#- Returns the groups whose sum of column_name exceeds their limit_column (the same
    value on every row of a group): a coverage above 100%. -#}
{% test group_sum_at_most(model, column_name, limit_column, group_by) %}
select
    {{ group_by | join(", ") }},
    sum({{ column_name }}) as total,
    max({{ limit_column }}) as limit_value
from {{ model }}
group by {{ group_by | join(", ") }}
having sum({{ column_name }}) > max({{ limit_column }})
{% endtest %}
