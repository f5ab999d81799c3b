-- int_provider_usage_priced: one row per provider usage line with what it costs at list price, priced by the
-- same rules as the logged calls (int_calls_priced): cache reads, 5-minute and 1-hour cache writes, batch, and
-- the long-context tier where the provider says the usage was long-context.
with usage as (
    select * from stg_provider_usage
),

prices as (
    select * from dim_prices
),

final as (
    select
        usage.*,
        prices.price_source,
        case when coalesce(usage.is_long_context, false) and prices.long_context_threshold is not null
            then list_cost_usd(
                usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens,
                usage.output_tokens, prices.lc_input_usd_per_mtok, prices.lc_cached_input_usd_per_mtok,
                prices.lc_cache_write_5m_usd_per_mtok, prices.lc_cache_write_1h_usd_per_mtok, prices.lc_output_usd_per_mtok
            )
            else list_cost_usd(
                usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens,
                usage.output_tokens, prices.input_usd_per_mtok, prices.cached_input_usd_per_mtok,
                prices.cache_write_5m_usd_per_mtok, prices.cache_write_1h_usd_per_mtok, prices.output_usd_per_mtok
            )
        end as list_cost_usd,
    from usage
    left join prices
        on prices.provider = usage.provider
        and prices.model = usage.model
        and prices.day = usage.day
        and prices.is_batch = usage.is_batch
)

select * from final
