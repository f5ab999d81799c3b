-- mart_whatif: one row per day × app × feature × scenario: the feature's real usage that day re-priced on
-- another model (scenario 'model:<provider>/<model>'), through the batch API ('batch'), or with prompt caching
-- ('cache'), against what the same usage cost at list price. Evidence before tiering a feature down.
--
-- 'cache' prices the calls that read no cache as if the same share of their uncached input were read from the
-- cache as the feature's cache-hitting calls read that day (the share of a prompt that is a stable prefix); a
-- feature with no cache hits that day has no 'cache' row, since nothing says how much of its prompt would cache.
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
        sum(input_tokens - cached_input_tokens - cache_write_tokens) filter (where not reads_cache)
            as uncached_input_tokens_of_misses,
        sum(cached_input_tokens) / nullif(sum(input_tokens) filter (where reads_cache), 0)
            as cacheable_share,
        sum(calls)::bigint as requests,
        sum(list_cost_usd)::decimal(38, 12) as list_cost_usd,
    from int_call_totals
    where not is_unbilled and is_priced
    group by day, app, feature, provider, model
),

alternatives as (
    select * from dim_whatif_models
),

scenarios as (
    select
        usage.day, usage.app, usage.feature, usage.requests, usage.list_cost_usd,
        'model:' || alternatives.provider || '/' || alternatives.model as scenario,
        alternatives.provider as target_provider, alternatives.model as target_model, false as target_batch,
        usage.uncached_input_tokens, usage.cached_input_tokens, usage.cache_write_5m_tokens,
        usage.cache_write_1h_tokens, usage.output_tokens,
    from usage
    cross join alternatives
    where not (alternatives.provider = usage.provider and alternatives.model = usage.model)
    union all
    select
        day, app, feature, requests, list_cost_usd, 'batch', provider, model, true,
        uncached_input_tokens, cached_input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens,
    from usage
    union all
    select
        day, app, feature, requests, list_cost_usd, 'cache', provider, model, false,
        uncached_input_tokens - moved, cached_input_tokens + moved, cache_write_5m_tokens, cache_write_1h_tokens,
        output_tokens,
    from (
        select *, round(coalesce(uncached_input_tokens_of_misses, 0) * cacheable_share)::hugeint as moved
        from usage
        where cacheable_share is not null
    )
),

priced as (
    select
        scenarios.*,
        list_cost_usd(
            scenarios.uncached_input_tokens + scenarios.cached_input_tokens + scenarios.cache_write_5m_tokens
                + scenarios.cache_write_1h_tokens,
            scenarios.cached_input_tokens,
            scenarios.cache_write_5m_tokens + scenarios.cache_write_1h_tokens,
            scenarios.cache_write_1h_tokens,
            scenarios.output_tokens,
            prices.input_usd_per_mtok, prices.cached_input_usd_per_mtok, prices.cache_write_5m_usd_per_mtok,
            prices.cache_write_1h_usd_per_mtok, prices.output_usd_per_mtok
        ) as whatif_cost_usd,
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
