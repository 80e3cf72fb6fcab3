-- One row per participant and snapshot month. A view: the incremental models above it
-- filter on snapshot_month, which PostgreSQL pushes down to the raw partitions.
with source as (
    select * from {{ source('raw', 'enrollment_snapshot') }}
),

final as (
    select
        snapshot_month,
        kpj,
        nik_token,
        sex,
        date_part('year', age((snapshot_month + interval '1 month - 1 day')::date, birth_date))::int
            as age_years,
        regency_code,
        district_code,
        segment,
        has_jkk,
        has_jkm,
        has_jht,
        has_jp,
        has_jkp,
        employer_npp,
        occupation_code,
        coalesce(ecosystem, 'none') as ecosystem,
        contribution_payer,
        registration_date,
        last_paid_month,
        status,
        status = 'active' as is_active,
        poverty_decile,
        _load_id as source_load_id
    from source
)

select * from final
