-- int_calls_merged: one row per call, however many log sources saw it.
-- (first version: calls sharing provider_request_id, else call_id, are one call; the richest value wins)
with calls as (
    select *, coalesce(provider_request_id, source_format || ':' || call_id) as merge_key from stg_calls
),

final as (
    select
        min(call_id) as call_id,
        min(occurred_at) as occurred_at,
        min(day) as day,
        any_value(provider) as provider,
        any_value(model) as model,
        any_value(model_raw) as model_raw,
        any_value(app) as app,
        any_value(feature) as feature,
        any_value(user_id) as user_id,
        any_value(tenant_id) as tenant_id,
        any_value(session_id) as session_id,
        any_value(prompt_version) as prompt_version,
        max(input_tokens) as input_tokens,
        max(cached_input_tokens) as cached_input_tokens,
        max(cache_write_tokens) as cache_write_tokens,
        max(cache_write_1h_tokens) as cache_write_1h_tokens,
        max(output_tokens) as output_tokens,
        max(reasoning_tokens) as reasoning_tokens,
        bool_or(is_batch) as is_batch,
        any_value(status) as status,
        max(attempt) as attempt,
        max(latency_ms) as latency_ms,
        bool_or(response_cache_hit) as response_cache_hit,
        any_value(provider_request_id) as provider_request_id,
        any_value(project_id) as project_id,
        any_value(workspace_id) as workspace_id,
        any_value(api_key_id) as api_key_id,
        max(reported_cost_usd) as reported_cost_usd,
        list_sort(list_distinct(list(source_format))) as sources,
        count(distinct source_format) as source_count,
    from calls
    group by merge_key
)

select * from final
