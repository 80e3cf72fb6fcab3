with participants as (
    select * from {{ ref('int_enrollment__regency_month') }}
),

final as (
    select
        regency_code as region_code,
        snapshot_month as period,
        poverty_decile,
        sum(active_participants)::bigint as active_participants,
        coalesce(sum(active_participants) filter (
            where contribution_payer in ('apbd_regency', 'apbd_province', 'apbn')
        ), 0)::bigint as active_government_paid
    from participants
    group by 1, 2, 3
)

select * from final
