with source as (
    select * from {{ source('raw', 'working_population') }}
),

final as (
    select
        semester,
        make_date(
            left(semester, 4)::int, case when right(semester, 1) = '1' then 1 else 7 end, 1
        ) as semester_start,
        regency_code,
        sex,
        age_band,
        occupation_code,
        population,
        _load_id as source_load_id
    from source
)

select * from final
