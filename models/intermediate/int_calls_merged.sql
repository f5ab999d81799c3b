-- int_calls_merged: one row per call, however many log sources saw it.
-- Records are the same call when they share the provider's response id (provider_request_id), or the
-- app's call id; a call id one record ties to a response id carries it to the call's other records
-- (a canonical line without the id and an OTel span with it are one call). A response-cache hit
-- reuses the cached response's id, so it joins by call id only.
-- Each field comes from the first source that has it, in a fixed order (the app's own canonical log,
-- Langfuse, LiteLLM, OTel, Bedrock; then file and line): deterministic, never any_value. The token
-- counts come together from one record: the one with cache or reasoning detail when only some have
-- it (a deprecated OTel span reports neither), else the first source's.
with calls as (
    select
        *,
        case source_format
            when 'tokenbooks_calls' then 1
            when 'langfuse_observations' then 2
            when 'litellm_spend_logs' then 3
            when 'otel_genai_spans' then 4
            when 'bedrock_invocation_calls' then 5
            else 9
        end as source_rank,
        case when response_cache_hit then null else provider_request_id end as joinable_request_id,
    -- A call id its source repeats with different content is not merged at all (fct_call_conflicts reports it).
    from stg_calls anti join fct_call_conflicts using (source_format, call_id)
),

repeated_call_ids as (
    -- Most calls reach us once: only what is seen more than once goes through the merge below.
    select call_id from calls group by call_id having count(*) > 1
),

call_ids as (
    -- The response id a call id stands for, when its records name exactly one (a call id seen once stands
    -- for its own record's id, which that record has already).
    select call_id, min(joinable_request_id) as request_id,
    from calls semi join repeated_call_ids using (call_id)
    group by call_id
    having min(joinable_request_id) = max(joinable_request_id)
),

keyed as (
    select
        calls.*,
        coalesce(calls.joinable_request_id, call_ids.request_id, 'call:' || calls.call_id) as merge_key,
    from calls
    left join call_ids using (call_id)
),

repeated as (
    select merge_key from keyed group by merge_key having count(*) > 1
),

to_merge as (
    select
        *,
        -- One integer per ordering (source rank, then a fixed hash of file and line): cheap to compare.
        (source_rank::ubigint << 58) + (hash(source_file, source_line) >> 6) as field_order,
        ((cached_input_tokens + cache_write_tokens + reasoning_tokens = 0)::ubigint << 62)
            + (source_rank::ubigint << 58) + (hash(source_file, source_line) >> 6) as token_order,
    from keyed semi join repeated using (merge_key)
),

merged as (
    select
        arg_min(call_id, field_order) as call_id,
        min(occurred_at) as occurred_at,
        min(day) as day,
        arg_min(provider, field_order) filter (where provider <> 'unknown') as _provider,
        arg_min(provider, field_order) as _any_provider,
        arg_min(model, field_order) as model,
        arg_min(model_raw, field_order) filter (where model_raw is not null) as model_raw,
        arg_min(app, field_order) filter (where app is not null) as app,
        arg_min(feature, field_order) filter (where feature is not null) as feature,
        arg_min(user_id, field_order) filter (where user_id is not null) as user_id,
        arg_min(tenant_id, field_order) filter (where tenant_id is not null) as tenant_id,
        arg_min(session_id, field_order) filter (where session_id is not null) as session_id,
        arg_min(prompt_version, field_order) filter (where prompt_version is not null) as prompt_version,
        arg_min(input_tokens, token_order) as input_tokens,
        arg_min(cached_input_tokens, token_order) as cached_input_tokens,
        arg_min(cache_write_tokens, token_order) as cache_write_tokens,
        arg_min(cache_write_1h_tokens, token_order) as cache_write_1h_tokens,
        arg_min(output_tokens, token_order) as output_tokens,
        arg_min(reasoning_tokens, token_order) as reasoning_tokens,
        bool_or(is_batch) as is_batch,
        arg_min(status, field_order) as status,
        arg_min(attempt, field_order) as attempt,
        arg_min(latency_ms, field_order) filter (where latency_ms is not null) as latency_ms,
        bool_or(response_cache_hit) as response_cache_hit,
        arg_min(provider_request_id, field_order) filter (where provider_request_id is not null) as provider_request_id,
        arg_min(project_id, field_order) filter (where project_id is not null) as project_id,
        arg_min(workspace_id, field_order) filter (where workspace_id is not null) as workspace_id,
        arg_min(api_key_id, field_order) filter (where api_key_id is not null) as api_key_id,
        arg_min(reported_cost_usd, field_order) filter (where reported_cost_usd is not null) as reported_cost_usd,
        array_to_string(list_sort(list_distinct(list(source_format))), ',') as sources,
        count(distinct source_format) as source_count,
    from to_merge
    group by merge_key
),

single as (
    select
        call_id, occurred_at, day,
        nullif(provider, 'unknown') as _provider, provider as _any_provider,
        model, model_raw, app, feature, user_id, tenant_id, session_id, prompt_version,
        input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens,
        is_batch, status, attempt, latency_ms, response_cache_hit, provider_request_id,
        project_id, workspace_id, api_key_id, reported_cost_usd,
        source_format as sources, 1::bigint as source_count,
    from keyed anti join repeated using (merge_key)
),

final as (
    select * from merged
    union all by name
    select * from single
)

select
    * exclude (_provider, _any_provider),
    coalesce(_provider, _any_provider) as provider,
from final
