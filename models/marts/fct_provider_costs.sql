-- fct_provider_costs: one row per billed line from a provider (newest version of each fact).
with costs as (
    select * from stg_provider_costs
),

final as (
    select
        day,
        provider,
        model,
        model_raw,
        cost_type,
        token_type,
        line_item,
        is_batch,
        billed_cost_usd,
        currency,
        billed_amount,
        project_id,
        workspace_id,
        api_key_id,
        owner,
        recon_owner,
        owner_app,
        resource_id,
        usage_hours,
        endpoint,
        billed_by,
        line_key,
        source_format,
        source_file,
        source_version,
    from costs
)

select * from final
