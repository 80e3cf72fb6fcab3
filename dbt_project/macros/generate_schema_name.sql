{#- Custom schemas are used as named (staging, intermediate, marts, reference), not
    prefixed with the target schema: BI tools and grants rely on these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
