-- Vulnerable workers (occupation class vulnerable, or enrolled through the rentan
-- ecosystem) and who pays for them: the figure regencies such as Bontang report.
with participants as (
    select * from {{ ref('int_enrollment__regency_month') }}
    where worker_class = 'vulnerable' or ecosystem = 'rentan'
),

payers as (
    select * from {{ ref('contribution_payers') }}
),

denominator as (
    select
        regency_code,
        semester_start,
        working_vulnerable
    from {{ ref('int_working_population__regency_semester') }}
),

final as (
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
)

select * from final
