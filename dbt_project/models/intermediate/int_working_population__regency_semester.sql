with working_population as (
    select * from {{ ref('stg_dukcapil__working_population') }}
),

occupations as (
    select
        occupation_code,
        is_working,
        worker_class
    from {{ ref('occupation_classes') }}
),

final as (
    select
        wp.regency_code,
        wp.semester,
        wp.semester_start,
        sum(wp.population) filter (where occupations.is_working) as working_population,
        sum(wp.population) filter (where occupations.worker_class = 'formal') as working_formal,
        sum(wp.population) filter (where occupations.worker_class = 'informal') as working_informal,
        sum(wp.population) filter (where occupations.worker_class = 'vulnerable')
            as working_vulnerable,
        sum(wp.population) as population_15_plus,
        'Dukcapil working-population extract ' || wp.semester as denominator_source
    from working_population as wp
    inner join occupations on wp.occupation_code = occupations.occupation_code
    group by wp.regency_code, wp.semester, wp.semester_start
)

select * from final
