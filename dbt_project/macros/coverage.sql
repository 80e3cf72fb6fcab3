{#- Coverage arithmetic, in one place so the models and their unit tests agree. -#}

{#- A ratio to 6 decimals (a rate to 0.0001 percentage points); null when dividing by 0. -#}
{% macro safe_ratio(numerator, denominator) -%}
    round(({{ numerator }})::numeric / nullif({{ denominator }}, 0), 6)::numeric(12, 6)
{%- endmacro %}

{#- Participants still needed to reach the target: never negative, null when the target or
    the denominator is unknown (greatest() alone would turn that null into 0). -#}
{% macro workers_to_target(target_rate, working_population, active_participants) -%}
    (case
        when ({{ target_rate }}) is null or ({{ working_population }}) is null then null
        else greatest(
            ceil(({{ target_rate }}) * ({{ working_population }})) - ({{ active_participants }}), 0
        )
    end)::bigint
{%- endmacro %}
