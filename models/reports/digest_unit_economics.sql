-- digest_unit_economics: one row per app × feature: requests, active users, spend per 1k requests, per active user and
-- per outcome, cache hit rate and waste over the period; the costliest first.
with calls as (
    select app, feature, sum(requests) as requests, sum(cost_usd) as cost_usd,
           count(distinct user_id) filter (where requests > 0) as active_users,
           sum(requests) filter (where cache_status in ('hit', 'response_cache')) as cache_hits,
    from mart_cost_daily
    where day between $start and $end and feature is distinct from '(unattributed)' and {audience}
    group by all
),
value as (
    select app, feature, sum(outcomes) as outcomes, sum(waste_usd) as waste_usd
    from mart_unit_economics where day between $start and $end group by all
)
select calls.app, calls.feature, calls.requests, calls.active_users, calls.cost_usd,
       calls.cost_usd * 1000 / nullif(calls.requests, 0) as cost_per_1k_requests_usd,
       calls.cost_usd / nullif(calls.active_users, 0) as cost_per_active_user_usd,
       coalesce(value.outcomes, 0) as outcomes,
       calls.cost_usd / nullif(value.outcomes, 0) as cost_per_outcome_usd,
       coalesce(calls.cache_hits, 0) / nullif(calls.requests, 0) as cache_hit_rate,
       coalesce(value.waste_usd, 0) as waste_usd,
from calls
left join value on value.app is not distinct from calls.app and value.feature is not distinct from calls.feature
order by calls.cost_usd desc
limit $limit
