-- mart_unit_economics_weekly: one row per ISO week (Monday start) × app × feature: the daily mart's sums, with
-- active users counted distinct over the week (a user active on five days is one user) and every rate recomputed
-- from the week's totals. A view of the published warehouse (questions that span days: active users across a
-- week are not a sum), over mart_unit_economics and fct_llm_calls.
with daily as (
    select
        date_trunc('week', day)::date as week,
        app,
        feature,
        sum(requests) as requests,
        sum(cost_usd) as cost_usd,
        sum(outcomes) as outcomes,
        sum(cache_hits) as cache_hits,
        sum(cache_savings_usd) as cache_savings_usd,
        sum(waste_usd) as waste_usd,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
    from mart_unit_economics
    group by all
),
users as (
    select date_trunc('week', day)::date as week, app, feature, count(distinct user_id) as active_users
    from fct_llm_calls
    group by all
)
select
    strftime(daily.week, '%G-W%V') as iso_week,
    daily.week,
    daily.app,
    daily.feature,
    daily.requests,
    coalesce(users.active_users, 0) as active_users,
    daily.cost_usd::decimal(38, 12) as cost_usd,
    (daily.cost_usd * 1000 / nullif(daily.requests, 0))::decimal(38, 12) as cost_per_1k_requests_usd,
    (daily.cost_usd / nullif(users.active_users, 0))::decimal(38, 12) as cost_per_active_user_usd,
    daily.outcomes,
    (daily.cost_usd / nullif(daily.outcomes, 0))::decimal(38, 12) as cost_per_outcome_usd,
    round(daily.cache_hits / nullif(daily.requests, 0), 6) as cache_hit_rate,
    daily.cache_savings_usd::decimal(38, 12) as cache_savings_usd,
    daily.waste_usd::decimal(38, 12) as waste_usd,
    daily.input_tokens,
    daily.output_tokens,
from daily
left join users
    on users.week = daily.week
    and users.app is not distinct from daily.app
    and users.feature is not distinct from daily.feature
