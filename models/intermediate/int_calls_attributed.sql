-- int_calls_attributed: one row per call with its share of the provider's bill.
-- Each group's explained part of the bill (billed × explained_share) is spread over the group's calls in
-- proportion to their list cost. The share is a dimensionless ratio; money stays DECIMAL throughout.
with calls as (
    select * from int_calls_priced
),

groups as (
    select * from int_reconciliation_groups
),

granularity as (
    select day, provider, model, bool_and(recon_owner is not null) as owner_level
    from calls
    group by all
),

final as (
    select
        calls.*,
        case when granularity.owner_level then calls.recon_owner else '*' end as group_owner,
        groups.has_bill,
        case
            when coalesce(calls.list_cost_usd, 0) = 0 or groups.list_cost_usd = 0 then 0::decimal(38, 12)
            else (
                (groups.billed_cost_usd * groups.explained_share::decimal(18, 15))::decimal(38, 12)
                * (calls.list_cost_usd / groups.list_cost_usd)::decimal(18, 15)
            )::decimal(38, 12)
        end as attributed_cost_usd,
    from calls
    join granularity using (day, provider, model)
    left join groups
        on groups.day = calls.day
        and groups.provider = calls.provider
        and groups.model = calls.model
        and groups.owner = case when granularity.owner_level then calls.recon_owner else '*' end
)

select * from final
