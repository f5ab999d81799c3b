-- int_call_merges: one row per call that more than one record tells of, merged (int_calls_merged adds the calls
-- seen once, read straight from the lake: most calls, and the bulk of a day's rows, never pass through here).
-- materialized: table
-- Records are the same call when they share the provider's response id (provider_request_id), or the
-- app's call id; a call id one record ties to a response id carries it to the call's other records
-- (a canonical line without the id and an OTel span with it are one call). A response-cache hit
-- reuses the cached response's id, so it joins by call id only.
-- Records with no id in common (OpenAI embeddings return no id; a proxy then logs its own) are the same call
-- when their fingerprint matches: same provider, model and token counts, from two different sources, starting
-- within 2 seconds of each other, each the other's nearest such record (mutual nearest neighbours: a burst of
-- identical calls pairs off in time order instead of collapsing). Only a day logged by two or more sources
-- is looked at; merged_without_id says which calls were merged this way.
-- The model is the one that served the call: a record naming the response model (model_served) before one
-- of unknown kind, before one naming the deployment, proxy model group or profile the call was requested by;
-- the names it was requested by are kept (requested_models) so int_call_model_aliases can resolve them.
-- A call's records may straddle midnight: it is the day of its first record.
-- Each field comes from the first source that has it, in a fixed order (the app's own canonical log,
-- Langfuse, LiteLLM, OTel, Bedrock; then file and line): deterministic, never any_value. The token
-- counts come together from one record: the one with cache or reasoning detail when only some have
-- it (a deprecated OTel span reports neither), else the first source's.
with calls as not materialized (
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
    select key_value as call_id from repeated_keys(calls, 'call_id')
),

call_ids as (
    -- The response id a call id stands for, when its records name exactly one (a call id seen once stands
    -- for its own record's id, which that record has already).
    select call_id, min(joinable_request_id) as request_id,
    from calls semi join repeated_call_ids using (call_id)
    group by call_id
    having min(joinable_request_id) = max(joinable_request_id)
),

id_keyed as not materialized (
    select
        calls.*,
        coalesce(calls.joinable_request_id, call_ids.request_id, 'call:' || calls.call_id) as merge_key,
    from calls
    left join call_ids using (call_id)
),

idless as (
    -- Records with no provider id, on a day more than one source logged.
    select merge_key, provider, model, input_tokens, output_tokens, occurred_at, source_format, source_rank,
    from id_keyed
    where joinable_request_id is null
        and not response_cache_hit
        and (select count(distinct source_format) from calls) > 1
),

fingerprint_pairs as (
    select
        a.merge_key as a_key,
        b.merge_key as b_key,
        a.source_rank as a_rank,
        abs(epoch_ms(a.occurred_at) - epoch_ms(b.occurred_at)) as gap_ms,
    from idless as a
    join idless as b
        on a.provider = b.provider
        and a.model = b.model
        and a.input_tokens = b.input_tokens
        and a.output_tokens = b.output_tokens
        and a.source_format <> b.source_format
        and (a.source_rank, a.source_format) < (b.source_rank, b.source_format)
        and b.occurred_at between a.occurred_at - interval 2 second and a.occurred_at + interval 2 second
        and a.merge_key <> b.merge_key
),

nearest_b as (
    select a_key, arg_min(b_key, (gap_ms, b_key)) as b_key from fingerprint_pairs group by a_key
),

nearest_a as (
    select b_key, arg_min(a_key, (a_rank, gap_ms, a_key)) as a_key from fingerprint_pairs group by b_key
),

fingerprint_keys as (
    -- b joins a's call when each is the other's nearest; an a that is itself some b's follows that b's a.
    select mutual.b_key, coalesce(upstream.a_key, mutual.a_key) as merge_key,
    from (select nearest_a.* from nearest_a join nearest_b using (a_key, b_key)) as mutual
    left join (select nearest_a.* from nearest_a join nearest_b using (a_key, b_key)) as upstream
        on upstream.b_key = mutual.a_key
),

keyed as not materialized (
    select
        id_keyed.* replace (coalesce(fingerprint_keys.merge_key, id_keyed.merge_key) as merge_key),
        fingerprint_keys.b_key is not null as _fingerprint_merged,
    from id_keyed
    left join fingerprint_keys on fingerprint_keys.b_key = id_keyed.merge_key
),

repeated as (
    select key_value as merge_key from repeated_keys(keyed, 'merge_key')
),

to_merge as (
    select
        *,
        -- One integer per ordering (source rank, then a fixed hash of file and line): cheap to compare.
        (source_rank::ubigint << 58) + (hash(source_file, source_line) >> 6) as field_order,
        ((cached_input_tokens + cache_write_tokens + reasoning_tokens = 0)::ubigint << 62)
            + (source_rank::ubigint << 58) + (hash(source_file, source_line) >> 6) as token_order,
        ((case model_served when true then 0 when false then 2 else 1 end)::ubigint << 61)
            + (source_rank::ubigint << 58) + (hash(source_file, source_line) >> 6) as model_order,
    from keyed semi join repeated using (merge_key)
),

merged as (
    select
        arg_min(call_id, field_order) as call_id,
        min(occurred_at) as occurred_at,
        min(day) as day,
        arg_min(provider, field_order) filter (where provider <> 'unknown') as _provider,
        arg_min(provider, field_order) as _any_provider,
        arg_min(model, model_order) as model,
        arg_min(model_raw, model_order) filter (where model_raw is not null) as model_raw,
        arg_min(model_served, model_order) as model_served,
        list(distinct model) filter (where not model_served) as requested_models,
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
        arg_min(max_output_tokens, field_order) filter (where max_output_tokens is not null) as max_output_tokens,
        arg_min(finish_reason, field_order) filter (where finish_reason is not null) as finish_reason,
        arg_min(trace_id, field_order) filter (where trace_id is not null) as trace_id,
        arg_min(parent_call_id, field_order) filter (where parent_call_id is not null) as parent_call_id,
        array_to_string(list_sort(list_distinct(list(source_format))), ',') as sources,
        count(distinct source_format) as source_count,
        bool_or(_fingerprint_merged) as merged_without_id,
        array_to_string(list_sort(list(distinct call_id)), ',') as record_call_ids,
        -- The records merged, by the key a source gives its records: int_calls_merged leaves them out of the calls
        -- seen once (a source's copies of one call id always fall in one call; conflicting copies never get here).
        list(distinct {'source_format': source_format, 'call_id': call_id}) as merged_records,
    from to_merge
    group by merge_key
)

select
    * exclude (_provider, _any_provider),
    coalesce(_provider, _any_provider) as provider,
from merged
-- Calls of the neighbouring days too (their records near midnight are read, build.load_inputs): int_calls_merged
-- keeps the calls of the day being built, and leaves all their records out of its calls seen once.
