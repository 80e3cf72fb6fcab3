-- Rebuilt each run from int_coverage__regency_month (one row per regency and month, a few
-- thousand rows a year): month-over-month change, rank and trend need neighbouring months.
with coverage as (
    select * from {{ ref('int_coverage__regency_month') }}
),

regions as (
    select * from {{ ref('dim_region') }}
),

with_history as (
    select
        coverage.*,
        coverage.coverage_rate
        - lag(coverage.coverage_rate) over by_regency as coverage_rate_change_mom,
        coverage.active_participants
        - lag(coverage.active_participants) over by_regency as active_participants_change_mom,
        (
            coverage.coverage_rate
            - lag(coverage.coverage_rate, {{ var('trend_months') }}) over by_regency
        )
        / {{ var('trend_months') }} as trend_3m,
        (coverage.coverage_rate - first_value(coverage.coverage_rate) over by_regency)
        / nullif(row_number() over by_regency - 1, 0) as trend_all
    from coverage
    window by_regency as (partition by coverage.regency_code order by coverage.snapshot_month)
),

with_trend as (
    select
        *,
        coalesce(trend_3m, trend_all) as monthly_rate_trend
    from with_history
),

final as (
    select
        with_trend.regency_code as region_code,
        regions.region_name,
        regions.province_code,
        regions.province_name,
        with_trend.snapshot_month as period,
        with_trend.working_population,
        with_trend.active_participants,
        with_trend.registered_participants,
        with_trend.coverage_rate,
        with_trend.target_rate,
        with_trend.target_source,
        with_trend.workers_to_target,
        with_trend.coverage_rate_change_mom,
        with_trend.active_participants_change_mom,
        rank() over (
            partition by regions.province_code, with_trend.snapshot_month
            order by with_trend.coverage_rate desc nulls last
        )::int as rank_in_province,
        with_trend.monthly_rate_trend,
        case
            when with_trend.coverage_rate >= with_trend.target_rate then with_trend.snapshot_month
            -- Beyond 100 years a projection means nothing (and would overflow dates).
            when with_trend.monthly_rate_trend > 0
                and (with_trend.target_rate - with_trend.coverage_rate)
                / with_trend.monthly_rate_trend <= 1200 then (
                with_trend.snapshot_month + make_interval(months => ceil(
                    (with_trend.target_rate - with_trend.coverage_rate)
                    / with_trend.monthly_rate_trend
                )::int)
            )::date
        end as projected_target_month,
        with_trend.denominator_source
    from with_trend
    inner join regions on with_trend.regency_code = regions.region_code
)

select * from final
