{{ config(
    materialized='incremental',
    unique_key='period',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['period']}],
    post_hook=["{{ record_watermark() }}", "{{ drop_vanished_periods('period') }}"],
) }}
-- Each segment's share of the regency's coverage: the segment rates add up to the
-- regency's coverage_rate in coverage_by_regency.
{% set months = changed_periods(
    'enrollment',
    also_when=['working_population', 'population', 'regions'],
    upstream=ref('int_enrollment__regency_month'),
) %}

with participants as (
    select
        snapshot_month,
        regency_code,
        segment,
        sum(active_participants)::bigint as active_participants,
        sum(registered_participants)::bigint as registered_participants
    from {{ ref('int_enrollment__regency_month') }}
    where {{ period_filter('snapshot_month', months) }}
    group by snapshot_month, regency_code, segment
),

coverage as (
    select
        regency_code,
        snapshot_month,
        working_population
    from {{ ref('int_coverage__regency_month') }}
    where {{ period_filter('snapshot_month', months) }}
),

regions as (
    select
        region_code,
        region_name,
        province_code,
        province_name
    from {{ ref('dim_region') }}
),

final as (
    select
        participants.regency_code as region_code,
        regions.region_name,
        regions.province_code,
        regions.province_name,
        participants.snapshot_month as period,
        participants.segment,
        coverage.working_population,
        participants.active_participants,
        participants.registered_participants,
        {{ safe_ratio('participants.active_participants', 'coverage.working_population') }}
            as coverage_rate
    from participants
    left join coverage
        on participants.regency_code = coverage.regency_code
            and participants.snapshot_month = coverage.snapshot_month
    inner join regions on participants.regency_code = regions.region_code
)

select * from final
