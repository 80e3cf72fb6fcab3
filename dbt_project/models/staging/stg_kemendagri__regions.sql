-- Latest edition of the region list, names cleaned (the upstream file has double spaces,
-- "Kab" abbreviations and a misspelt "Papua Barat Oaya").
with source as (
    select editions.* from {{ source('raw', 'regions') }} as editions
    where editions.edition_year = (
            select max(latest.edition_year) from {{ source('raw', 'regions') }} as latest
        )
),

cleaned as (
    select
        region_code,
        level,
        edition_year,
        village_count,
        regexp_replace(
            regexp_replace(
                regexp_replace(trim(region_name), '\s+', ' ', 'g'),
                '^Kab\.? ', 'Kabupaten '
            ),
            'Papua Barat Oaya', 'Papua Barat Daya'
        ) as region_name
    from source
),

final as (
    select
        region_code,
        region_name,
        level,
        left(region_code, 2) as province_code,
        case when level >= 2 then left(region_code, 5) end as regency_code,
        village_count,
        edition_year
    from cleaned
)

select * from final
