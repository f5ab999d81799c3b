-- stg_provider_costs: one row per provider billed line of the day that stands: each fact once, whichever channels
-- and deliveries brought it, its model resolved (models/macros/current_facts.sql).
-- A compute or provisioned line (GPU instances, a managed endpoint, provisioned throughput) whose tags name a
-- serving endpoint, or whose resource tokenbooks.yaml maps to one (endpoints: resources), is the endpoint's: it is
-- reconciled under the endpoint's provider (self_hosted unless configured), with the endpoint as its model and
-- owner, against the calls the endpoint served (int_endpoint_groups); billed_by keeps the cloud that billed it.
with current as (
    select * from current_facts(lake_provider_costs)
),

resources as (
    select * from dim_endpoint_resources
),

endpoints as (
    select * from dim_endpoints
),

linked as (
    select
        current.*,
        case when current.cost_type in ('compute', 'provisioned')
            then coalesce(resources.endpoint, current.endpoint) end as served_endpoint,
    from current
    left join resources on resources.resource_id = current.resource_id
),

final as (
    select
        linked.* exclude (served_endpoint) replace (
            case when served_endpoint is null then linked.provider
                 else coalesce(endpoints.provider, 'self_hosted') end as provider,
            case when served_endpoint is null then linked.model else served_endpoint end as model,
            served_endpoint as endpoint
        ),
        linked.provider as billed_by,
        case when served_endpoint is not null then 'endpoint:' || served_endpoint
             else coalesce('project:' || project_id, 'workspace:' || workspace_id, owner, 'unknown') end as recon_owner,
    from linked
    left join endpoints on endpoints.endpoint = linked.served_endpoint
)

select * from final
