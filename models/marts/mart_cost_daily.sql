-- mart_cost_daily: one row per day × app × feature × user × tenant × provider × model × tier × prompt version ×
-- cache status, with requests, token sums and cost. Spend no logged call explains is added as rows with
-- feature '(unattributed)' and the owner's app where tokenbooks.yaml maps it, so the mart adds up to the bill.
with calls as (
    select * from fct_llm_calls
),

unattributed as (
    select * from fct_reconciliation where unattributed_cost_usd <> 0
),

call_rows as (
    select
        day,
        app,
        feature,
        user_id,
        tenant_id,
        provider,
        model,
        model_tier,
        prompt_version,
        cache_status,
        count(*) as requests,
        count(*) filter (where status <> 'ok') as failed_requests,
        count(*) filter (where attempt > 1) as retried_requests,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        sum(cost_usd)::decimal(38, 12) as cost_usd,
        sum(attributed_cost_usd)::decimal(38, 12) as attributed_cost_usd,
        coalesce(sum(list_cost_usd), 0)::decimal(38, 12) as list_cost_usd,
        sum(cache_savings_usd)::decimal(38, 12) as cache_savings_usd,
    from calls
    group by all
),

unattributed_rows as (
    select
        unattributed.day,
        unattributed.owner_app as app,
        '(unattributed)' as feature,
        null::varchar as user_id,
        null::varchar as tenant_id,
        unattributed.provider,
        unattributed.model,
        coalesce(tiers.model_tier, 'unknown') as model_tier,
        null::varchar as prompt_version,
        'unattributed' as cache_status,
        0::bigint as requests,
        0::bigint as failed_requests,
        0::bigint as retried_requests,
        0::hugeint as input_tokens,
        0::hugeint as cached_input_tokens,
        0::hugeint as cache_write_tokens,
        0::hugeint as output_tokens,
        0::hugeint as reasoning_tokens,
        sum(unattributed.unattributed_cost_usd)::decimal(38, 12) as cost_usd,
        0::decimal(38, 12) as attributed_cost_usd,
        0::decimal(38, 12) as list_cost_usd,
        0::decimal(38, 12) as cache_savings_usd,
    from unattributed
    left join dim_model_tiers as tiers
        on tiers.provider = unattributed.provider and tiers.model = unattributed.model
    group by all
),

final as (
    select * from call_rows
    union all by name
    select * from unattributed_rows
)

select * from final
