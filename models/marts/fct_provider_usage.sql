-- fct_provider_usage: one row per provider usage line that stands (each usage fact once, whichever channel
-- delivered it: models/macros/current_facts.sql), priced at list.
with usage as (
    select * from int_provider_usage_priced
),

final as (
    select
        day,
        provider,
        model,
        model_raw,
        is_batch,
        input_tokens,
        cached_input_tokens,
        cache_write_tokens,
        cache_write_1h_tokens,
        output_tokens,
        reasoning_tokens,
        requests,
        project_id,
        workspace_id,
        api_key_id,
        owner,
        recon_owner,
        owner_app,
        resource_id,
        service_tier,
        is_long_context,
        list_cost_usd,
        line_key,
        channel,
        source_format,
        source_file,
        source_version,
    from usage
)

select * from final
