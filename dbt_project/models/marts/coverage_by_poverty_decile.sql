with participants as (
    select * from {{ ref('int_enrollment__regency_month') }}
),

payers as (
    select
        contribution_payer,
        payer_group
    from {{ ref('contribution_payers') }}
),

regions as (
    select
        region_code,
        region_name,
        province_code,
        province_name
    from {{ ref('dim_region') }}
),

by_decile as (
    select
        participants.regency_code as region_code,
        participants.snapshot_month as period,
        participants.poverty_decile,
        sum(participants.active_participants)::bigint as active_participants,
        coalesce(sum(participants.active_participants) filter (
            where payers.payer_group = 'government'
        ), 0)::bigint as active_government_paid
    from participants
    inner join payers on participants.contribution_payer = payers.contribution_payer
    group by participants.regency_code, participants.snapshot_month, participants.poverty_decile
),

final as (
    select
        by_decile.region_code,
        regions.region_name,
        regions.province_code,
        regions.province_name,
        by_decile.period,
        by_decile.poverty_decile,
        by_decile.active_participants,
        by_decile.active_government_paid
    from by_decile
    inner join regions on by_decile.region_code = regions.region_code
)

select * from final
