-- fct_reconciliation: one row per day × provider × model × owner: the bill against the logged calls.
-- attributed + unattributed = billed exactly, per row, because unattributed is what attribution did not place.
-- That the calls' attributed_cost_usd adds up to this table's is checked on every build (quality/invariants.py).
-- A serving endpoint is one row per day (model and owner: the endpoint): its idle cost is its unattributed part.
with groups as (
    select * from int_reconciliation_groups
),

endpoints as (
    select * from int_endpoint_groups
),

owners as (
    select * from dim_owners
),

-- An owner the provider lines name more specifically than the group (a GCP team label inside a project, an
-- API key inside a workspace) maps the group to an app when tokenbooks.yaml maps that owner, and only one app.
line_owner_apps as (
    select
        groups.day,
        groups.provider,
        groups.model,
        groups.owner,
        case when count(distinct owners.app) = 1 then min(owners.app) end as app,
        case when count(distinct owners.team) = 1 then min(owners.team) end as team,
    from groups
    cross join unnest(groups.line_owners) as line(line_owner)
    join owners on owners.owner = line.line_owner
    group by all
),

model_rows as (
    select
        groups.day,
        groups.provider,
        groups.model,
        groups.owner,
        case when groups.owner = '*' then groups.provider_owners else groups.owner end as unattributed_owner,
        -- tokenbooks.yaml owners: first; else the app the lines' own tags name, when they name one.
        coalesce(
            owners.app, owner_by_list.app, line_owner_apps.app, case when len(groups.line_apps) = 1 then groups.line_apps[1] end
        ) as owner_app,
        coalesce(owners.team, owner_by_list.team, line_owner_apps.team) as owner_team,
        groups.billed_cost_usd,
        groups.list_cost_usd,
        groups.provider_list_cost_usd,
        groups.attributed_cost_usd,
        (groups.billed_cost_usd - groups.attributed_cost_usd)::decimal(38, 12) as unattributed_cost_usd,
        groups.provider_tokens,
        groups.logged_tokens,
        groups.logged_calls,
        groups.unbilled_calls,
        case when groups.billed_cost_usd > 0
             then round(groups.attributed_cost_usd / groups.billed_cost_usd, 6) end as coverage,
        -- Tokens are compared only where the provider's usage export is in; without it, the bill is compared
        -- with the logged calls' list cost.
        case
            when groups.billed_cost_usd > 0 and groups.logged_calls = 0 then 'no_call_logs'
            when groups.has_usage and groups.provider_tokens > groups.logged_tokens * 1.005 then 'billed_not_logged'
            when groups.has_usage and groups.logged_tokens > groups.provider_tokens * 1.005 and groups.has_bill
                then 'logged_not_billed'
            when not groups.has_bill and groups.logged_calls > 0 then 'no_bill_yet'
            when not groups.has_usage and groups.billed_cost_usd > groups.list_cost_usd * 1.01 then 'billed_not_logged'
            when coalesce(groups.provider_list_cost_usd, groups.list_cost_usd) > 0
                 and abs(groups.billed_cost_usd - coalesce(groups.provider_list_cost_usd, groups.list_cost_usd))
                     > 0.01 * coalesce(groups.provider_list_cost_usd, groups.list_cost_usd)
                then 'price_difference'
            else 'matched'
        end as gap_reason,
        groups.has_foreign_currency,
    from groups
    left join owners on owners.owner = groups.owner
    left join owners as owner_by_list on owner_by_list.owner = groups.provider_owners
    left join line_owner_apps
        on line_owner_apps.day = groups.day
        and line_owner_apps.provider = groups.provider
        and line_owner_apps.model = groups.model
        and line_owner_apps.owner = groups.owner
),

endpoint_rows as (
    select
        endpoints.day,
        endpoints.provider,
        endpoints.endpoint as model,
        'endpoint:' || endpoints.endpoint as owner,
        'endpoint:' || endpoints.endpoint as unattributed_owner,
        coalesce(owners.app, endpoints.endpoint_app,
                 case when len(endpoints.line_apps) = 1 then endpoints.line_apps[1] end) as owner_app,
        owners.team as owner_team,
        endpoints.billed_cost_usd,
        endpoints.list_cost_usd,
        null::decimal(38, 12) as provider_list_cost_usd,
        endpoints.attributed_cost_usd,
        endpoints.idle_cost_usd as unattributed_cost_usd,
        endpoints.tokens as provider_tokens,
        endpoints.tokens as logged_tokens,
        endpoints.calls as logged_calls,
        endpoints.unbilled_calls,
        case when endpoints.billed_cost_usd > 0
             then round(endpoints.attributed_cost_usd / endpoints.billed_cost_usd, 6) end as coverage,
        case
            when not endpoints.has_bill then 'no_bill_yet'
            when endpoints.idle_cost_usd <> 0 then 'idle_capacity'
            else 'matched'
        end as gap_reason,
        endpoints.has_foreign_currency,
    from endpoints
    left join owners on owners.owner = 'endpoint:' || endpoints.endpoint
),

final as (
    select * from model_rows
    union all by name
    select * from endpoint_rows
)

select * from final
