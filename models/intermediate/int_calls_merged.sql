-- int_calls_merged: one row per call, however many log sources saw it.
-- A call more than one record tells of is merged in int_call_merges (how records are found to be one call, and
-- which record each field comes from, is written there). Every other record is a call of its own, read here
-- straight from the lake as it landed: on a big day that is nearly every row, and copying it into one more table
-- would cost more than the merge itself. A call id its source repeats with different content is not a call at
-- all (fct_call_conflicts reports it).
-- materialized: view
with merges as (
    select * from int_call_merges
),

merged_records as (
    select unnest(merged_records, recursive := true) from merges
),

single as (
    select
        call_id, occurred_at, day,
        provider,
        model, model_raw, model_served,
        case when model_served = false then [model] else []::varchar[] end as requested_models,
        app, feature, user_id, tenant_id, session_id, prompt_version,
        input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens,
        is_batch, status, attempt, latency_ms, response_cache_hit, provider_request_id,
        project_id, workspace_id, api_key_id, reported_cost_usd,
        max_output_tokens, finish_reason, trace_id, parent_call_id,
        source_format as sources, 1::bigint as source_count, false as merged_without_id, call_id as record_call_ids,
    from stg_calls
    anti join fct_call_conflicts using (source_format, call_id)
    anti join merged_records using (source_format, call_id)
    -- Records of the neighbouring days near midnight are read too (build.load_inputs): a call belongs to the day
    -- of its first record.
    where day = (select day from dim_build_day)
)

select * exclude (merged_records) from merges
-- A call belongs to the day of its first record.
where day = (select day from dim_build_day)
union all by name
select * from single
