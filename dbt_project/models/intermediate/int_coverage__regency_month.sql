-- Coverage arithmetic per regency and month: numerator, denominator, rate, target, gap.
-- The denominator is the semester extract in force for the month (the latest semester
-- starting on or before it, else the earliest one there is).
with participants as (
    select
        snapshot_month,
        regency_code,
        sum(active_participants)::bigint as active_participants,
        sum(registered_participants)::bigint as registered_participants
    from {{ ref('int_enrollment__regency_month') }}
    group by snapshot_month, regency_code
),

working_population as (
    select * from {{ ref('int_working_population__regency_semester') }}
),

targets as (
    select * from {{ ref('int_targets__regency_year') }}
),

denominator as (
    select distinct on (participants.snapshot_month, participants.regency_code)
        participants.snapshot_month,
        participants.regency_code,
        working_population.working_population::bigint as working_population,
        working_population.denominator_source
    from participants
    inner join working_population
        on participants.regency_code = working_population.regency_code
    order by
        participants.snapshot_month,
        participants.regency_code,
        (working_population.semester_start <= participants.snapshot_month) desc,
        case when working_population.semester_start <= participants.snapshot_month
                then participants.snapshot_month - working_population.semester_start
            else working_population.semester_start - participants.snapshot_month
        end
),

final as (
    select
        participants.regency_code,
        participants.snapshot_month,
        denominator.working_population,
        denominator.denominator_source,
        participants.active_participants,
        participants.registered_participants,
        {{ safe_ratio('participants.active_participants', 'denominator.working_population') }}
            as coverage_rate,
        targets.target_rate,
        targets.target_source,
        {{ workers_to_target('targets.target_rate', 'denominator.working_population',
                             'participants.active_participants') }} as workers_to_target
    from participants
    left join denominator
        on participants.snapshot_month = denominator.snapshot_month
            and participants.regency_code = denominator.regency_code
    left join targets
        on participants.regency_code = targets.region_code
            and targets.year = extract(year from participants.snapshot_month)
)

select * from final
