with regencies as (
    select * from {{ ref('coverage_by_regency') }}
),

targets as (
    select * from {{ ref('coverage_targets') }}
),

provinces as (
    select
        region_code,
        region_name
    from {{ ref('dim_region') }}
    where level = 1
),

regency_counts as (
    select
        province_code,
        count(*) as regencies_total
    from {{ ref('dim_region') }}
    where level = 2
    group by province_code
),

totals as (
    select
        province_code,
        period,
        count(*) as regencies_reporting,
        sum(working_population)::bigint as working_population,
        sum(active_participants)::bigint as active_participants,
        sum(registered_participants)::bigint as registered_participants,
        count(*) filter (where coverage_rate >= target_rate) as regencies_at_target
    from regencies
    group by province_code, period
),

province_targets as (
    select distinct on (provinces.region_code, targets.year)
        provinces.region_code as province_code,
        targets.year,
        targets.target_rate,
        targets.target_source
    from provinces
    inner join
        targets
        on targets.region_code in (provinces.region_code, '{{ var("national_region_code") }}')
    order by provinces.region_code, targets.year, (targets.region_code = provinces.region_code) desc
),

final as (
    select
        totals.province_code,
        provinces.region_name as province_name,
        totals.period,
        totals.regencies_reporting::int as regencies_reporting,
        regency_counts.regencies_total::int as regencies_total,
        -- A sum over some of the province's regencies is not the province's figure.
        totals.regencies_reporting < regency_counts.regencies_total as is_partial,
        totals.regencies_at_target::int as regencies_at_target,
        totals.working_population,
        totals.active_participants,
        totals.registered_participants,
        {{ safe_ratio('totals.active_participants', 'totals.working_population') }}
            as coverage_rate,
        province_targets.target_rate,
        province_targets.target_source,
        {{ workers_to_target('province_targets.target_rate', 'totals.working_population',
                             'totals.active_participants') }} as workers_to_target
    from totals
    inner join provinces on totals.province_code = provinces.region_code
    inner join regency_counts on totals.province_code = regency_counts.province_code
    left join province_targets
        on totals.province_code = province_targets.province_code
            and province_targets.year = extract(year from totals.period)
)

select * from final
