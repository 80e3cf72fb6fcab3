{#- Periods of a dataset loaded since the target last saw them, read from the small audit
    table at compile time so the model's filter is a literal list and PostgreSQL prunes
    the raw partitions at plan time. A reloaded month comes back in the list, which is
    what makes a rerun replace that month (delete+insert on the month). -#}
{% macro changed_periods(dataset, load_id_column='source_load_id') -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set seen = 0 -%}
    {%- if is_incremental() -%}
        {%- set seen_query -%}
            select coalesce(max({{ load_id_column }}), 0) from {{ this }}
        {%- endset -%}
        {%- set seen = run_query(seen_query).columns[0].values()[0] -%}
    {%- endif -%}
    {%- set query -%}
        select distinct period
        from {{ source('audit', 'extract_loads') }}
        where dataset = '{{ dataset }}' and status = 'loaded' and load_id > {{ seen }}
        order by period
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- SQL predicate for a column in a list of period literals; false for an empty list. -#}
{% macro period_filter(column, periods) -%}
    {%- if periods | length == 0 -%} false
    {%- else -%} {{ column }} in ({% for p in periods %}'{{ p }}'{{ "," if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
