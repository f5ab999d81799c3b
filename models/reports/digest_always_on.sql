-- digest_always_on: one row per serving endpoint: the period's cost, idle cost, utilisation, cost per 1M tokens and days
-- it served nothing; a limited recipient sees the endpoints whose idle cost their app owns.
with owners as (
    select model as endpoint, any_value(owner_app) as app
    from fct_reconciliation
    where day between $start and $end and starts_with(unattributed_owner, 'endpoint:')
    group by all
)
select
    e.endpoint, any_value(e.endpoint_kind) as endpoint_kind, any_value(e.provider) as provider, owners.app,
    sum(e.cost_usd) as cost_usd, sum(e.idle_cost_usd) as idle_cost_usd,
    (sum(e.tokens_served) / nullif(sum(e.capacity_tokens), 0))::double as utilisation,
    (sum(e.cost_usd) * 1000000 / nullif(sum(e.tokens_served), 0))::decimal(38, 12) as cost_per_mtok_usd,
    count(*) filter (where e.tokens_served = 0 and e.cost_usd > 0) as idle_days,
from mart_endpoints as e
left join owners on owners.endpoint = e.endpoint
where e.day between $start and $end
  and ($everyone or coalesce(list_contains($apps::varchar[], owners.app), false))
group by e.endpoint, owners.app
having sum(e.cost_usd) <> 0
order by sum(e.idle_cost_usd) desc, e.endpoint
