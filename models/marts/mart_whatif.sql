-- mart_whatif: one row per day × app × feature × scenario: the feature's real usage that day re-priced on
-- another model (scenario 'model:<provider>/<model>') or through the batch API (scenario 'batch'),
-- against what the same usage cost at list price. Evidence before tiering a feature down.
with usage as (
    select
        day,
        app,
        feature,
        provider,
        model,
        sum(input_tokens - cached_input_tokens - cache_write_tokens) as uncached_input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(cache_write_tokens - cache_write_1h_tokens) as cache_write_5m_tokens,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens,
        sum(output_tokens) as output_tokens,
        count(*) as requests,
        sum(list_cost_usd)::decimal(38, 12) as list_cost_usd,
    from int_calls_priced
    where not is_unbilled and is_priced
    group by all
),

alternatives as (
    select * from dim_whatif_models
),

scenarios as (
    select usage.*, 'model:' || alternatives.provider || '/' || alternatives.model as scenario,
           alternatives.provider as target_provider, alternatives.model as target_model, false as target_batch,
    from usage
    cross join alternatives
    where not (alternatives.provider = usage.provider and alternatives.model = usage.model)
    union all
    select usage.*, 'batch' as scenario, usage.provider, usage.model, true
    from usage
),

priced as (
    select
        scenarios.*,
        (
            (
                scenarios.uncached_input_tokens * prices.input_usd_per_mtok
                + scenarios.cached_input_tokens * prices.cached_input_usd_per_mtok
                + scenarios.cache_write_5m_tokens * prices.cache_write_5m_usd_per_mtok
                + scenarios.cache_write_1h_tokens * prices.cache_write_1h_usd_per_mtok
                + scenarios.output_tokens * prices.output_usd_per_mtok
            ) * 0.000001::decimal(7, 6)
        )::decimal(38, 12) as whatif_cost_usd,
    from scenarios
    join dim_prices as prices
        on prices.provider = scenarios.target_provider
        and prices.model = scenarios.target_model
        and prices.day = scenarios.day
        and prices.is_batch = scenarios.target_batch
    where prices.input_usd_per_mtok is not null
),

final as (
    select
        day,
        app,
        feature,
        scenario,
        sum(requests) as requests,
        sum(list_cost_usd)::decimal(38, 12) as current_list_cost_usd,
        sum(whatif_cost_usd)::decimal(38, 12) as whatif_cost_usd,
        (sum(list_cost_usd) - sum(whatif_cost_usd))::decimal(38, 12) as saving_usd,
    from priced
    group by all
)

select * from final
