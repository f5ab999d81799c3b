-- stg_calls: one row per call record landed from one log source, for the day being built.
-- Input: lake_calls (the day's `calls` partition). Renaming and typing only.
-- materialized: view
with source as (
    select * from lake_calls
),

final as (
    select
        call_id,
        occurred_at,
        day,
        lower(provider) as provider,
        model,
        model_raw,
        model_served,
        app,
        feature,
        user_id,
        tenant_id,
        session_id,
        prompt_version,
        input_tokens,
        cached_input_tokens,
        cache_write_tokens,
        cache_write_1h_tokens,
        output_tokens,
        reasoning_tokens,
        is_batch,
        status,
        attempt,
        latency_ms,
        response_cache_hit,
        provider_request_id,
        project_id,
        workspace_id,
        api_key_id,
        reported_cost_usd,
        max_output_tokens,
        finish_reason,
        trace_id,
        parent_call_id,
        source_format,
        source_file,
        source_line,
    from source
)

select * from final
