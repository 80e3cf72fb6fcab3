{#- Months an incremental model must recompute, read at compile time from the small audit
    table, so the model's filter is a literal list and PostgreSQL prunes the raw partitions
    at plan time. A reloaded month comes back in the list, which is what makes a rerun
    replace that month (period_replace: delete+insert on the month).

    What counts as news is decided by transaction visibility, not by load ids: a load is
    news when its commit (audit.extract_loads.commit_xid) was not visible in the snapshot
    the model last read (audit.transform_watermarks). Load ids are taken when a load
    starts, so a long reload can commit after a later, shorter one; with the snapshot,
    a load that commits while a transform runs is picked up by the next run, never lost.

    The new snapshot is taken before the periods are read and set aside as a candidate;
    record_watermark (a post-hook, inside the model's transaction) makes it the watermark
    only if the model's rows are written. `also_when`: datasets whose news means every
    month must be recomputed (a new working-population semester moves every rate).
    `upstream`: for a model built on another incremental model, the upstream's watermark
    is the candidate, since news cannot reach this model before it has reached that one. -#}
{% macro changed_periods(dataset, also_when=[], upstream=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- if flags.FULL_REFRESH -%}
        {#- A rebuild from raw cannot restore months retention dropped from raw. -#}
        {%- set retired = run_query(
            "select count(*) from " ~ source('audit', 'retired_periods')
            ~ " where dataset = '" ~ dataset ~ "'").columns[0].values()[0] -%}
        {%- if retired > 0 -%}
            {{ exceptions.raise_compiler_error(
                "--full-refresh of " ~ this ~ " would lose the aggregates of " ~ retired
                ~ " month(s) retention dropped from raw (audit.retired_periods); "
                ~ "change the model incrementally instead") }}
        {%- endif -%}
    {%- endif -%}
    {%- set watermarks = source('audit', 'transform_watermarks') -%}
    {%- set candidate -%}
        insert into {{ watermarks }}
            as w (model, candidate_snapshot, candidate_invocation)
        values (
            '{{ this }}',
            {% if upstream -%}
                (select snapshot from {{ watermarks }} where model = '{{ upstream }}')
            {%- else -%} pg_current_snapshot()
            {%- endif %},
            '{{ invocation_id }}'
        )
        on conflict (model) do update
            set candidate_snapshot = excluded.candidate_snapshot,
                candidate_invocation = excluded.candidate_invocation
        returning w.snapshot::text
    {%- endset -%}
    {%- set recorded = run_query(candidate).columns[0].values()[0] -%}
    {%- set watermark = recorded if is_incremental() else none -%}
    {%- set news -%}
        {%- if watermark -%}
            commit_xid is not null
            and not pg_visible_in_snapshot(commit_xid, '{{ watermark }}'::pg_snapshot)
        {%- else -%} true
        {%- endif -%}
    {%- endset -%}
    {%- set query -%}
        select distinct period
        from {{ source('audit', 'extract_loads') }}
        where dataset = '{{ dataset }}' and status = 'loaded'
          and (
            ({{ news }})
            {%- if also_when %}
            or exists (
                select 1 from {{ source('audit', 'extract_loads') }}
                where dataset in ({% for d in also_when %}'{{ d }}'{{ "," if not loop.last }}{% endfor %})
                  and status = 'loaded' and ({{ news }})
            )
            {%- endif %}
          )
        order by period
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- Post-hook of every model that calls changed_periods: the candidate snapshot becomes
    the watermark in the same transaction as the model's rows. -#}
{% macro record_watermark() -%}
    update {{ source('audit', 'transform_watermarks') }}
    set snapshot = candidate_snapshot, updated_at = now()
    where model = '{{ this }}' and candidate_invocation = '{{ invocation_id }}'
{%- endmacro %}

{#- Post-hook: drop the months whose raw partition is gone (a period withdrawn from raw
    leaves the marts too), except the months retention retired: their aggregates stay.
    The vanished months come from the audit and the catalog; the model's own rows are
    read only when there are any (an empty list ends the join before the model is
    scanned, so the cost does not grow with the months the model holds). -#}
{% macro drop_vanished_periods(column, dataset='enrollment', raw_table='enrollment_snapshot') -%}
    delete from {{ this }}
    where {{ column }} in (
        select loads.period::date
        from {{ source('audit', 'extract_loads') }} as loads
        where loads.dataset = '{{ dataset }}'
          and loads.status in ('loaded', 'withdrawn')
          and not exists (
            select 1 from {{ source('audit', 'raw_partitions') }} as parts
            where parts.table_name = '{{ raw_table }}' and parts.period = loads.period
          )
          and not exists (
            select 1 from {{ source('audit', 'retired_periods') }} as retired
            where retired.table_name = '{{ raw_table }}' and retired.period = loads.period
          )
    )
{%- endmacro %}

{#- SQL predicate for a column in a list of period literals; false for an empty list. -#}
{% macro period_filter(column, periods) -%}
    {%- if periods | length == 0 -%} false
    {%- else -%} {{ column }} in ({% for p in periods %}'{{ p }}'{{ "," if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
