-- Vulnerable workers (occupation class vulnerable, or enrolled through the rentan
-- ecosystem) and who pays for them: the figure regencies such as Bontang report.
with participants as (
    select * from {{ ref('int_enrollment__regency_month') }}
    where worker_class = 'vulnerable' or ecosystem = 'rentan'
),

payers as (
    select * from {{ ref('contribution_payers') }}
),

regions as (
    select
        region_code,
        region_name,
        province_code,
        province_name
    from {{ ref('dim_region') }}
),

denominator as (
    select
        regency_code,
        semester_start,
        working_vulnerable
    from {{ ref('int_working_population__regency_semester') }}
),

by_payer as (
    select
        participants.regency_code as region_code,
        participants.snapshot_month as period,
        participants.contribution_payer,
        payers.payer_group,
        sum(participants.active_participants)::bigint as active_participants,
        coalesce(
            sum(participants.active_participants)
            filter (where participants.ecosystem = 'rentan'), 0
        )::bigint as active_rentan_ecosystem,
        max(denominator.working_vulnerable)::bigint as working_vulnerable_population
    from participants
    inner join payers on participants.contribution_payer = payers.contribution_payer
    left join lateral (
        select d.working_vulnerable from denominator as d
        where d.regency_code = participants.regency_code
        order by (d.semester_start <= participants.snapshot_month) desc, d.semester_start desc
        limit 1
    ) as denominator on true
    group by
        participants.regency_code,
        participants.snapshot_month,
        participants.contribution_payer,
        payers.payer_group
),

final as (
    select
        by_payer.region_code,
        regions.region_name,
        regions.province_code,
        regions.province_name,
        by_payer.period,
        by_payer.contribution_payer,
        by_payer.payer_group,
        by_payer.active_participants,
        by_payer.active_rentan_ecosystem,
        by_payer.working_vulnerable_population
    from by_payer
    inner join regions on by_payer.region_code = regions.region_code
)

select * from final
