{#- Tests on the models that hold a row per participant read only the months loaded
    since the last quality gate that passed, not every month ever loaded: their cost
    stays flat as history grows. A test opts in with `where: "__new_periods__"` (on the
    model's snapshot_month); the months come from audit.extract_loads and the gate's
    watermark, resolved when the test runs. The first run (no watermark) reads all. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__new_periods__' in where -%}
        {%- set where = where | replace('__new_periods__', new_periods_filter('snapshot_month')) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro new_periods_filter(column) -%}
    {%- if not execute -%}{{ return('true') }}{%- endif -%}
    {%- set query -%}
        select distinct l.period
        from {{ source('audit', 'extract_loads') }} as l
        left join {{ source('audit', 'transform_watermarks') }} as w
            on w.model = 'quality_gate:warehouse_gate'
        where l.dataset = 'enrollment' and l.status = 'loaded'
          and (w.snapshot is null
               or (l.commit_xid is not null
                   and not pg_visible_in_snapshot(l.commit_xid, w.snapshot)))
    {%- endset -%}
    {{ return(period_filter(column, run_query(query).columns[0].values() | list)) }}
{%- endmacro %}
