-- int_calls_priced: one row per call, its model resolved to the one that served it, with its list cost at the
-- day's list prices.
-- Cache reads, 5-minute and 1-hour cache writes, output (incl. reasoning), batch and the long-context tier are
-- each priced at their own rate. Calls the provider never billed (app response-cache hits, rate-limited
-- calls) cost nothing. A call whose model has no known price keeps a null list cost and is_priced = false.
-- A call a configured serving endpoint served (its provider is the endpoint's name, or its model one of the
-- endpoint's models: pipelines/warehouse/endpoints.py) names the endpoint and takes the endpoint's provider.
-- materialized: view
with merged as (
    select * from int_calls_merged
),

endpoint_keys as (
    -- One row: lookup key -> endpoint, so each call looks its endpoint up without a join that could repeat it.
    select map_from_entries(list({'k': key, 'v': endpoint})) as endpoint_of from dim_endpoint_keys
),

aliases as (
    select * from int_call_model_aliases
),

calls as (
    -- The model that served: as logged where a source says it served; else resolved through the aliases.
    select
        merged.* replace (coalesce(aliases.model, merged.model) as model),
        case
            when merged.model_served then 'response'
            when aliases.model is not null then 'resolved:' || aliases.evidence
            else 'as_logged'
        end as model_resolution,
        coalesce(
            endpoint_keys.endpoint_of['provider:' || merged.provider],
            endpoint_keys.endpoint_of['model:' || merged.provider || '/' || merged.model_raw],
            endpoint_keys.endpoint_of['model:' || merged.provider || '/' || merged.model],
            endpoint_keys.endpoint_of['model:' || merged.provider || '/' || aliases.model]
        ) as endpoint,
    from merged
    cross join endpoint_keys
    left join aliases
        on aliases.provider = merged.provider
        and aliases.alias = merged.model
        and not coalesce(merged.model_served, false)
),

served as (
    select calls.* replace (coalesce(endpoints.provider, calls.provider) as provider),
    from calls
    left join dim_endpoints as endpoints using (endpoint)
),

prices as (
    select * from dim_prices
),

tiers as (
    select * from dim_model_tiers
),

joined as (
    select
        calls.*,
        prices.price_source,
        prices.long_context_threshold is not null
            and calls.input_tokens > prices.long_context_threshold as is_long_context,
        prices.input_usd_per_mtok,
        prices.cached_input_usd_per_mtok,
        prices.cache_write_5m_usd_per_mtok,
        prices.cache_write_1h_usd_per_mtok,
        prices.output_usd_per_mtok,
        prices.lc_input_usd_per_mtok,
        prices.lc_cached_input_usd_per_mtok,
        prices.lc_cache_write_5m_usd_per_mtok,
        prices.lc_cache_write_1h_usd_per_mtok,
        prices.lc_output_usd_per_mtok,
        coalesce(tiers.model_tier, 'unknown') as model_tier,
    from served as calls
    left join prices
        on prices.provider = calls.provider
        and prices.model = calls.model
        and prices.day = calls.day
        and prices.is_batch = calls.is_batch
    left join tiers
        on tiers.provider = calls.provider
        and tiers.model = calls.model
),

rated as (
    select
        *,
        case when is_long_context then lc_input_usd_per_mtok else input_usd_per_mtok end as p_input,
        case when is_long_context then lc_cached_input_usd_per_mtok else cached_input_usd_per_mtok end as p_cached,
        case when is_long_context then lc_cache_write_5m_usd_per_mtok else cache_write_5m_usd_per_mtok end as p_write_5m,
        case when is_long_context then lc_cache_write_1h_usd_per_mtok else cache_write_1h_usd_per_mtok end as p_write_1h,
        case when is_long_context then lc_output_usd_per_mtok else output_usd_per_mtok end as p_output,
        response_cache_hit or status = 'rate_limited' as is_unbilled,
    from joined
),

final as (
    select
        * exclude (
            p_input, p_cached, p_write_5m, p_write_1h, p_output,
            input_usd_per_mtok, cached_input_usd_per_mtok, cache_write_5m_usd_per_mtok,
            cache_write_1h_usd_per_mtok, output_usd_per_mtok, lc_input_usd_per_mtok,
            lc_cached_input_usd_per_mtok, lc_cache_write_5m_usd_per_mtok, lc_cache_write_1h_usd_per_mtok,
            lc_output_usd_per_mtok
        ),
        coalesce(price_source, 'unknown') <> 'unknown' as is_priced,
        case
            when is_unbilled then 0::decimal(38, 12)
            when p_input is null then null
            else list_cost_usd(
                input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
                p_input, p_cached, p_write_5m, p_write_1h, p_output
            )
        end as list_cost_usd,
        -- What the cache reads would have cost as uncached input: the prompt-cache saving.
        case
            when is_unbilled or p_input is null then 0::decimal(38, 12)
            else (cached_input_tokens * (p_input - p_cached) * 0.000001::decimal(7, 6))::decimal(38, 12)
        end as cache_savings_usd,
        case
            when response_cache_hit then 'response_cache'
            when cached_input_tokens > 0 then 'hit'
            when cache_write_tokens > 0 then 'write'
            else 'miss'
        end as cache_status,
        case
            when project_id is not null then 'project:' || project_id
            when workspace_id is not null then 'workspace:' || workspace_id
        end as recon_owner,
    from rated
)

select * from final
