-- fct_llm_calls: one row per application LLM call (merged across log sources), with its list cost and its
-- attributed share of the provider's bill. cost_usd is the attributed cost when the provider's bill for the
-- day is in, else the list cost (cost_basis says which).
with calls as (
    select * from int_calls_attributed
),

billed_providers as (
    select distinct day, provider from stg_provider_costs
),

final as (
    select
        calls.call_id,
        calls.occurred_at,
        calls.day,
        calls.provider,
        calls.model,
        calls.model_raw,
        calls.model_resolution,
        calls.model_tier,
        calls.app,
        calls.feature,
        calls.user_id,
        calls.tenant_id,
        calls.session_id,
        calls.prompt_version,
        calls.cache_status,
        calls.input_tokens,
        calls.cached_input_tokens,
        calls.cache_write_tokens,
        calls.cache_write_1h_tokens,
        calls.output_tokens,
        calls.reasoning_tokens,
        calls.is_batch,
        calls.is_long_context,
        calls.status,
        calls.attempt,
        calls.latency_ms,
        calls.response_cache_hit,
        calls.provider_request_id,
        calls.project_id,
        calls.workspace_id,
        calls.api_key_id,
        calls.endpoint,
        calls.is_priced,
        calls.list_cost_usd,
        calls.attributed_cost_usd,
        calls.cache_savings_usd,
        calls.reported_cost_usd,
        calls.max_output_tokens,
        calls.finish_reason,
        calls.trace_id,
        calls.parent_call_id,
        case when billed_providers.provider is not null then calls.attributed_cost_usd
             else coalesce(calls.list_cost_usd, 0) end::decimal(38, 12) as cost_usd,
        case when billed_providers.provider is not null then 'billed' else 'list' end as cost_basis,
        calls.sources,
        calls.source_count,
        calls.merged_without_id,
        calls.record_call_ids,
    from calls
    left join billed_providers
        on billed_providers.day = calls.day and billed_providers.provider = calls.provider
)

select * from final
