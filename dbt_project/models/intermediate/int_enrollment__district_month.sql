{{ config(
    materialized='incremental',
    unique_key='snapshot_month',
    indexes=[{'columns': ['snapshot_month']}],
    post_hook=["{{ record_watermark() }}", "{{ drop_vanished_periods('snapshot_month') }}"],
) }}
{% set months = changed_periods('enrollment') %}

with enrollment as (
    select * from {{ ref('stg_bpjs__enrollment') }}
    where {{ period_filter('snapshot_month', months) }}
        and district_code is not null
),

final as (
    select
        snapshot_month,
        district_code,
        count(*) as registered_participants,
        count(*) filter (where is_active) as active_participants,
        count(*) filter (where is_active and ecosystem = 'desa') as active_desa_participants,
        max(source_load_id) as source_load_id
    from enrollment
    group by snapshot_month, district_code
)

select * from final
