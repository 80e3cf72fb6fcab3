with participants as (
    select * from {{ ref('int_enrollment__regency_month') }}
),

regions as (
    select
        region_code,
        region_name,
        province_code,
        province_name
    from {{ ref('dim_region') }}
),

by_ecosystem as (
    select
        regency_code as region_code,
        snapshot_month as period,
        ecosystem,
        sum(active_participants)::bigint as active_participants,
        sum(registered_participants)::bigint as registered_participants
    from participants
    group by regency_code, snapshot_month, ecosystem
),

with_share as (
    select
        *,
        {{ safe_ratio('active_participants',
                      'sum(active_participants) over (partition by region_code, period)') }}
            as share_of_active
    from by_ecosystem
),

final as (
    select
        with_share.region_code,
        regions.region_name,
        regions.province_code,
        regions.province_name,
        with_share.period,
        with_share.ecosystem,
        with_share.active_participants,
        with_share.registered_participants,
        with_share.share_of_active
    from with_share
    inner join regions on with_share.region_code = regions.region_code
)

select * from final
