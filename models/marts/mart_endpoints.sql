-- mart_endpoints: one row per day × serving endpoint (self-hosted GPUs, a managed endpoint, provisioned
-- throughput): what it cost, what it served, how much of it sat idle, and what the same tokens would have cost at
-- the API it is compared with (tokenbooks.yaml endpoints: reference_model).
-- break-even: the daily tokens (at the day's input/output mix) at which the API would cost what the endpoint did.
with endpoints as (
    select * from int_endpoint_groups
),

prices as (
    select * from dim_prices where not is_batch
),

referenced as (
    select
        endpoints.*,
        case when endpoints.reference_model is not null then endpoints.reference_provider || '/' || endpoints.reference_model
        end as reference_model_name,
        list_cost_usd(
            endpoints.input_tokens, endpoints.cached_input_tokens, endpoints.cache_write_tokens,
            endpoints.cache_write_1h_tokens, endpoints.output_tokens, prices.input_usd_per_mtok,
            prices.cached_input_usd_per_mtok, prices.cache_write_5m_usd_per_mtok, prices.cache_write_1h_usd_per_mtok,
            prices.output_usd_per_mtok
        ) as reference_cost_usd,
    from endpoints
    left join prices
        on prices.day = endpoints.day
        and prices.provider = endpoints.reference_provider
        and prices.model = endpoints.reference_model
),

final as (
    select
        day,
        endpoint,
        endpoint_kind,
        provider,
        billed_by,
        usage_hours,
        billed_cost_usd as cost_usd,
        calls,
        tokens as tokens_served,
        case when tokens > 0 then (billed_cost_usd * 1000000 / tokens)::decimal(38, 12) end as cost_per_mtok_usd,
        capacity_tokens,
        capacity_source,
        round(utilisation, 6) as utilisation,
        attributed_cost_usd,
        idle_cost_usd,
        case when billed_cost_usd > 0 then round(idle_cost_usd / billed_cost_usd, 6) end as idle_share,
        reference_model_name as reference_model,
        reference_cost_usd,
        case when tokens > 0 and reference_cost_usd is not null
             then (reference_cost_usd * 1000000 / tokens)::decimal(38, 12) end as reference_cost_per_mtok_usd,
        (reference_cost_usd - billed_cost_usd)::decimal(38, 12) as saving_vs_reference_usd,
        case when reference_cost_usd > 0
             then round(billed_cost_usd * tokens / reference_cost_usd)::bigint end as breakeven_tokens_per_day,
    from referenced
)

select * from final
