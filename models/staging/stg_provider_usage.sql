-- stg_provider_usage: one row per provider usage line of the day that stands: each fact once, whichever channels
-- and deliveries brought it, its model resolved (models/macros/current_facts.sql).
with current as (
    select * from current_facts(lake_provider_usage)
),

final as (
    select
        *,
        coalesce('project:' || project_id, 'workspace:' || workspace_id, owner, 'unknown') as recon_owner,
    from current
)

select * from final
