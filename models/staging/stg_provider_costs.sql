-- stg_provider_costs: one row per billed line of the day, newest version of each billed fact (see stg_provider_usage).
with source as (
    select * from lake_provider_costs
),

newest as (
    select *
    from source
    qualify source_version = max(source_version) over (partition by line_key)
),

final as (
    select
        *,
        coalesce('project:' || project_id, 'workspace:' || workspace_id, owner, 'unknown') as recon_owner,
    from newest
)

select * from final
