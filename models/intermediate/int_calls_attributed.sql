-- int_calls_attributed: one row per call with its share of the provider's bill.
-- Each group's explained part of the bill (billed × explained_share) is spread over the group's calls in
-- proportion to their list cost: list cost × the group's attribution rate (attributed / list cost, 15 decimals,
-- so a group's calls add up to its attributed dollars well within a cent). Money stays DECIMAL throughout.
-- A call a serving endpoint served carries its tokens × the endpoint's attributed rate per token instead
-- (int_endpoint_groups).
with calls as (
    select * from int_calls_priced
),

groups as (
    select * from int_reconciliation_groups
),

granularity as (
    select * from int_reconciliation_granularity
),

endpoints as (
    select * from int_endpoint_groups
),

final as (
    select
        calls.*,
        case
            when calls.endpoint is null
                then coalesce(money_times_rate(calls.list_cost_usd, groups.attribution_rate), 0::decimal(38, 12))
            when calls.is_unbilled then 0::decimal(38, 12)
            else coalesce(((calls.input_tokens + calls.output_tokens) * endpoints.attribution_rate_per_token)::decimal(38, 12),
                          0::decimal(38, 12))
        end as attributed_cost_usd,
    from calls
    join granularity using (day, provider, model)
    left join groups
        on groups.day = calls.day
        and groups.provider = calls.provider
        and groups.model = calls.model
        and groups.owner = case when granularity.owner_level then calls.recon_owner else '*' end
        and calls.endpoint is null
    left join endpoints
        on endpoints.day = calls.day
        and endpoints.endpoint = calls.endpoint
)

select * from final
