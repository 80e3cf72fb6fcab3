with source as (
    select editions.* from {{ source('raw', 'population_by_region') }} as editions
    where editions.edition_year = (
            select max(latest.edition_year)
            from {{ source('raw', 'population_by_region') }} as latest
        )
),

final as (
    select
        region_code,
        male as population_male,
        female as population_female,
        total as population_total,
        edition_year,
        _load_id as source_load_id
    from source
)

select * from final
