-- stg_provider_usage: one row per provider usage line of the day, newest version of each billed fact.
-- The same fact can arrive by several channels (API pull, dashboard CSV, a revised re-export): rows are
-- keyed by what they are (line_key) and only the newest landed version of each key is kept.
with source as (
    select * from lake_provider_usage
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
