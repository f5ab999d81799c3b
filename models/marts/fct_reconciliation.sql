-- fct_reconciliation: one row per day × provider × model × owner: the bill against the logged calls.
-- attributed + unattributed = billed exactly, per row, because unattributed is what attribution did not place.
with groups as (
    select * from int_reconciliation_groups
),

attributed as (
    select day, provider, model, group_owner as owner, sum(attributed_cost_usd)::decimal(38, 12) as attributed_cost_usd
    from int_calls_attributed
    group by all
),

owners as (
    select * from dim_owners
),

final as (
    select
        groups.day,
        groups.provider,
        groups.model,
        groups.owner,
        case when groups.owner = '*' then groups.provider_owners else groups.owner end as unattributed_owner,
        coalesce(owners.app, owner_by_list.app) as owner_app,
        coalesce(owners.team, owner_by_list.team) as owner_team,
        groups.billed_cost_usd,
        groups.list_cost_usd,
        groups.provider_list_cost_usd,
        coalesce(attributed.attributed_cost_usd, 0)::decimal(38, 12) as attributed_cost_usd,
        (groups.billed_cost_usd - coalesce(attributed.attributed_cost_usd, 0))::decimal(38, 12) as unattributed_cost_usd,
        groups.provider_tokens,
        groups.logged_tokens,
        groups.logged_calls,
        groups.unbilled_calls,
        case when groups.billed_cost_usd > 0
             then round(coalesce(attributed.attributed_cost_usd, 0) / groups.billed_cost_usd, 6) end as coverage,
        case
            when groups.billed_cost_usd > 0 and groups.logged_calls = 0 then 'no_call_logs'
            when groups.provider_tokens > groups.logged_tokens * 1.005 then 'billed_not_logged'
            when groups.logged_tokens > groups.provider_tokens * 1.005 and groups.has_bill then 'logged_not_billed'
            when not groups.has_bill and groups.logged_calls > 0 then 'no_bill_yet'
            when groups.provider_list_cost_usd > 0
                 and abs(groups.billed_cost_usd - groups.provider_list_cost_usd) > 0.01 * groups.provider_list_cost_usd
                then 'price_difference'
            else 'matched'
        end as gap_reason,
        groups.has_foreign_currency,
    from groups
    left join attributed
        on attributed.day = groups.day
        and attributed.provider = groups.provider
        and attributed.model = groups.model
        and attributed.owner = groups.owner
    left join owners on owners.owner = groups.owner
    left join owners as owner_by_list on owner_by_list.owner = groups.provider_owners
)

select * from final
