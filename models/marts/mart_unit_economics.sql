-- mart_unit_economics: one row per day × app × feature: what a unit of product use and of product value costs.
-- cache_savings_usd = prompt-cache reads at full input price minus what they cost, plus app response-cache hits
-- valued at the feature's average cost per billed call that day. waste_usd = what the calls that failed (and so
-- were retried or lost) cost: a successful retry is the work itself, not waste, so counting it too would double
-- the waste of every failure that was retried.
with calls as not materialized (
    select * from fct_llm_calls
),

outcomes as (
    select
        coalesce(o.app, c.app) as app,
        coalesce(o.feature, c.feature) as feature,
        o.outcome_id,
    from stg_outcomes as o
    left join calls as c on c.call_id = o.call_id
),

per_feature as (
    select
        day,
        app,
        feature,
        count(*) as requests,
        count(*) filter (where not response_cache_hit) as provider_requests,
        count(distinct user_id) as active_users,
        sum(cost_usd)::decimal(38, 12) as cost_usd,
        sum(cache_savings_usd)::decimal(38, 12) as prompt_cache_savings_usd,
        count(*) filter (where response_cache_hit) as response_cache_hits,
        count(*) filter (where cache_status = 'hit') as prompt_cache_hits,
        sum(cost_usd) filter (where status <> 'ok')::decimal(38, 12) as waste_usd,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
    from calls
    group by all
),

outcome_counts as (
    select app, feature, count(distinct outcome_id) as outcomes
    from outcomes
    group by all
),

final as (
    select
        per_feature.day,
        per_feature.app,
        per_feature.feature,
        per_feature.requests,
        per_feature.active_users,
        per_feature.cost_usd,
        (per_feature.cost_usd * 1000 / nullif(per_feature.requests, 0))::decimal(38, 12) as cost_per_1k_requests_usd,
        (per_feature.cost_usd / nullif(per_feature.active_users, 0))::decimal(38, 12) as cost_per_active_user_usd,
        coalesce(outcome_counts.outcomes, 0) as outcomes,
        (per_feature.cost_usd / nullif(outcome_counts.outcomes, 0))::decimal(38, 12) as cost_per_outcome_usd,
        round((per_feature.prompt_cache_hits + per_feature.response_cache_hits) / nullif(per_feature.requests, 0), 6)
            as cache_hit_rate,
        per_feature.prompt_cache_hits + per_feature.response_cache_hits as cache_hits,
        (
            per_feature.prompt_cache_savings_usd
            + coalesce(
                per_feature.response_cache_hits * per_feature.cost_usd / nullif(per_feature.provider_requests, 0), 0
            )::decimal(38, 12)
        )::decimal(38, 12) as cache_savings_usd,
        coalesce(per_feature.waste_usd, 0)::decimal(38, 12) as waste_usd,
        per_feature.input_tokens,
        per_feature.output_tokens,
    from per_feature
    left join outcome_counts
        on outcome_counts.app is not distinct from per_feature.app
        and outcome_counts.feature is not distinct from per_feature.feature
)

select * from final
