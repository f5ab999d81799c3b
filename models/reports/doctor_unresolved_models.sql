-- doctor_unresolved_models: one row per provider × model the data could not resolve (its calls have no list price), with the
-- days it was called and the provider's unattributed dollars those days; the costliest first.
with calls as (
    select provider, model, model_raw, day, count(*) as calls,
    from fct_llm_calls
    -- an endpoint's calls carry its hourly cost (mart_endpoints), no list price: nothing to alias or price
    where day between $start and $end and not is_priced and status <> 'rate_limited' and not response_cache_hit
      and endpoint is null
    group by all
),
provider_gap as (
    select day, provider, sum(unattributed_cost_usd) as unattributed_usd
    from fct_reconciliation where day between $start and $end group by all
)
select calls.provider, calls.model, min(calls.model_raw) as model_raw, sum(calls.calls) as calls,
       count(distinct calls.day) as days, coalesce(sum(provider_gap.unattributed_usd), 0) as unattributed_usd,
from calls left join provider_gap using (day, provider)
group by all
order by unattributed_usd desc, calls desc
