-- int_provider_usage_priced: one row per provider usage line with what it costs at list price,
-- so the bill can be compared with the logged calls on the same prices.
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
        (
            (
                (usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens) * prices.input_usd_per_mtok
                + usage.cached_input_tokens * prices.cached_input_usd_per_mtok
                + (usage.cache_write_tokens - usage.cache_write_1h_tokens) * prices.cache_write_5m_usd_per_mtok
                + usage.cache_write_1h_tokens * prices.cache_write_1h_usd_per_mtok
                + usage.output_tokens * prices.output_usd_per_mtok
            ) * 0.000001::decimal(7, 6)
        )::decimal(38, 12) as list_cost_usd,
    from usage
    left join prices
        on prices.provider = usage.provider
        and prices.model = usage.model
        and prices.day = usage.day
        and prices.is_batch = usage.is_batch
)

select * from final
