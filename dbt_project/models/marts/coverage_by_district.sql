-- Districts with their villages: where village apparatus and RT/RW heads are enrolled.
with participants as (
    select * from {{ ref('int_enrollment__district_month') }}
),

districts as (
    select
        region_code,
        region_name,
        regency_code,
        village_count
    from {{ ref('stg_kemendagri__regions') }}
    where level = 3
),

regions as (
    select
        region_code,
        region_name,
        province_code,
        province_name
    from {{ ref('dim_region') }}
),

final as (
    select
        participants.district_code,
        districts.region_name as district_name,
        districts.regency_code as region_code,
        regions.region_name,
        regions.province_code,
        regions.province_name,
        participants.snapshot_month as period,
        districts.village_count,
        participants.registered_participants,
        participants.active_participants,
        participants.active_desa_participants
    from participants
    inner join districts on participants.district_code = districts.region_code
    inner join regions on districts.regency_code = regions.region_code
)

select * from final
