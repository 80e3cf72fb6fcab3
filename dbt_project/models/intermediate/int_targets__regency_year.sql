-- The target that applies to each regency and year: its own, else its province's, else
-- the national default. The source travels with the rate.
with regencies as (
    select
        region_code,
        province_code
    from {{ ref('stg_kemendagri__regions') }}
    where level = 2
),

targets as (
    select * from {{ ref('coverage_targets') }}
),

candidates as (
    select
        regencies.region_code,
        targets.year,
        targets.target_rate,
        targets.target_source,
        case
            when targets.region_code = regencies.region_code then 1
            when targets.region_code = regencies.province_code then 2
            else 3
        end as precedence
    from regencies
    inner join targets
        on targets.region_code in (
                regencies.region_code, regencies.province_code, '{{ var("national_region_code") }}'
            )
),

final as (
    select distinct on (region_code, year)
        region_code,
        year,
        target_rate,
        target_source
    from candidates
    order by region_code, year, precedence
)

select * from final
