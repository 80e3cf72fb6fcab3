with participants as (
    select * from {{ ref('int_enrollment__regency_month') }}
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

final as (
    select
        *,
        {{ safe_ratio('active_participants',
                      'sum(active_participants) over (partition by region_code, period)') }}
            as share_of_active
    from by_ecosystem
)

select * from final
