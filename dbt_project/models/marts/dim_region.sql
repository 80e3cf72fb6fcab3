with regions as (
    select * from {{ ref('stg_kemendagri__regions') }}
),

population as (
    select * from {{ ref('stg_kemendagri__population') }}
),

districts as (
    select
        regency_code,
        count(*) as district_count,
        sum(village_count) as village_count
    from regions
    where level = 3
    group by regency_code
),

provinces as (
    select
        region_code as province_code,
        region_name as province_name
    from regions
    where level = 1
),

final as (
    select
        regions.region_code,
        regions.region_name,
        case
            when regions.level = 1 then 'province'
            when right(regions.region_code, 2)::int >= 71 then 'city'
            else 'regency'
        end as region_type,
        regions.level,
        regions.province_code,
        provinces.province_name,
        coalesce(
            districts.district_count,
            (
                select count(*) from regions as d
                where d.level = 3 and d.province_code = regions.region_code
            )
        )::int as district_count,
        coalesce(
            districts.village_count,
            (
                select sum(d.village_count) from regions as d
                where d.level = 3 and d.province_code = regions.region_code
            )
        )::int as village_count,
        population.population_total,
        population.population_male,
        population.population_female,
        regions.edition_year
    from regions
    inner join provinces on regions.province_code = provinces.province_code
    left join districts on regions.region_code = districts.regency_code
    left join population on regions.region_code = population.region_code
    where regions.level in (1, 2)
)

select * from final
