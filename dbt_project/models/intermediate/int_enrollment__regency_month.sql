{{ config(
    materialized='incremental',
    unique_key='snapshot_month',
    indexes=[{'columns': ['snapshot_month']}],
    post_hook=["{{ record_watermark() }}", "{{ drop_vanished_periods('snapshot_month') }}"],
) }}
-- The only model that scans participant rows, so the only one whose cost grows with the
-- size of a month: it reads just the months loaded since its last run.
{% set months = changed_periods('enrollment') %}

with enrollment as (
    select * from {{ ref('stg_bpjs__enrollment') }}
    where {{ period_filter('snapshot_month', months) }}
),

occupations as (
    select
        occupation_code,
        worker_class
    from {{ ref('occupation_classes') }}
),

classified as (
    select
        enrollment.snapshot_month,
        enrollment.regency_code,
        enrollment.segment,
        coalesce(occupations.worker_class, 'unknown') as worker_class,
        enrollment.ecosystem,
        enrollment.contribution_payer,
        coalesce(enrollment.poverty_decile, 0)::smallint as poverty_decile,
        enrollment.is_active,
        enrollment.source_load_id
    from enrollment
    left join occupations on enrollment.occupation_code = occupations.occupation_code
),

final as (
    select
        snapshot_month,
        regency_code,
        segment,
        worker_class,
        ecosystem,
        contribution_payer,
        poverty_decile,
        count(*) as registered_participants,
        count(*) filter (where is_active) as active_participants,
        max(source_load_id) as source_load_id
    from classified
    group by
        snapshot_month,
        regency_code,
        segment,
        worker_class,
        ecosystem,
        contribution_payer,
        poverty_decile
)

select * from final
