-- int_reconciliation_groups: one row per day × provider × model × owner group, with the bill, the provider's
-- usage and the logged calls side by side, and how much of the bill the logged calls explain.
--
-- Groups are per owner (project / workspace) when every logged call of that day and model names its owner, so
-- a project's bill is only spread over that project's calls; otherwise per model (owner '*').
-- The explained share is logged list cost / provider list cost (capped at 1): usage no call logged (a batch
-- job, a playground key, billed retries) stays unattributed, while credits, discounts and currency differences
-- scale the attributed amount with the bill. Both sides are priced by the same rules (int_calls_priced,
-- int_provider_usage_priced). Where the provider splits a token type the logs do not — 1-hour vs 5-minute cache
-- writes, when no logged call of the group reports a 1-hour write — the logged side is calibrated to the
-- provider's split: its cache writes take the provider's 1-hour share at the 1-hour premium.
-- A serving endpoint's lines and calls are reconciled by int_endpoint_groups instead (by tokens, not list cost).
with calls as (
    select * from int_call_totals where endpoint is null
),

usage as (
    select * from int_provider_usage_priced
),

costs as (
    select *, coalesce(model, '(non-model)') as group_model from stg_provider_costs where endpoint is null
),

granularity as (
    select * from int_reconciliation_granularity
),

call_groups as (
    select
        calls.day,
        calls.provider,
        calls.model,
        case when granularity.owner_level then calls.recon_owner else '*' end as owner,
        sum(calls.calls)::bigint as logged_calls,
        coalesce(sum(calls.calls) filter (where calls.is_unbilled), 0)::bigint as unbilled_calls,
        coalesce(sum(calls.list_cost_usd), 0)::decimal(38, 12) as list_cost_usd,
        sum(case when calls.is_unbilled then 0 else calls.input_tokens + calls.output_tokens end) as logged_tokens,
        sum(case when calls.is_unbilled then 0 else calls.cache_write_tokens end) as logged_cache_write_tokens,
        sum(case when calls.is_unbilled then 0 else calls.cache_write_1h_tokens end) as logged_cache_write_1h_tokens,
    from calls
    join granularity using (day, provider, model)
    group by all
),

usage_groups as (
    select
        usage.day,
        usage.provider,
        usage.model,
        case when coalesce(granularity.owner_level, true) then usage.recon_owner else '*' end as owner,
        coalesce(sum(usage.list_cost_usd), 0)::decimal(38, 12) as provider_list_cost_usd,
        sum(usage.input_tokens + usage.output_tokens) as provider_tokens,
        sum(usage.cache_write_tokens) as provider_cache_write_tokens,
        sum(usage.cache_write_1h_tokens) as provider_cache_write_1h_tokens,
        string_agg(distinct usage.recon_owner, ', ' order by usage.recon_owner) as provider_owners,
        list(distinct usage.owner) filter (where usage.owner is not null) as usage_line_owners,
        list(distinct usage.owner_app) filter (where usage.owner_app is not null) as usage_line_apps,
    from usage
    left join granularity using (day, provider, model)
    group by all
),

cost_groups as (
    select
        costs.day,
        costs.provider,
        costs.group_model as model,
        case when coalesce(granularity.owner_level, true) then costs.recon_owner else '*' end as owner,
        sum(costs.billed_cost_usd)::decimal(38, 12) as billed_cost_usd,
        string_agg(distinct costs.recon_owner, ', ' order by costs.recon_owner) as billed_owners,
        list(distinct costs.owner) filter (where costs.owner is not null) as billed_line_owners,
        list(distinct costs.owner_app) filter (where costs.owner_app is not null) as billed_line_apps,
        bool_or(costs.currency <> 'USD') as has_foreign_currency,
    from costs
    left join granularity on granularity.day = costs.day
        and granularity.provider = costs.provider
        and granularity.model = costs.group_model
    group by all
),

joined as (
    select
        coalesce(c.day, u.day, b.day) as day,
        coalesce(c.provider, u.provider, b.provider) as provider,
        coalesce(c.model, u.model, b.model) as model,
        coalesce(c.owner, u.owner, b.owner) as owner,
        coalesce(b.billed_cost_usd, 0)::decimal(38, 12) as billed_cost_usd,
        coalesce(c.list_cost_usd, 0)::decimal(38, 12) as list_cost_usd,
        case
            when coalesce(c.logged_cache_write_1h_tokens, 0) = 0 and coalesce(u.provider_cache_write_1h_tokens, 0) > 0
                and coalesce(c.logged_cache_write_tokens, 0) > 0
            then (c.logged_cache_write_tokens * u.provider_cache_write_1h_tokens / u.provider_cache_write_tokens)::hugeint
            else 0
        end as calibrated_1h_tokens,
        u.provider_list_cost_usd,
        coalesce(u.provider_tokens, 0) as provider_tokens,
        coalesce(c.logged_tokens, 0) as logged_tokens,
        coalesce(c.logged_calls, 0) as logged_calls,
        coalesce(c.unbilled_calls, 0) as unbilled_calls,
        coalesce(b.billed_owners, u.provider_owners) as provider_owners,
        -- The most specific owners the lines name (a tag, a key, an IAM principal), for mapping to an app.
        list_distinct(list_concat(coalesce(b.billed_line_owners, []), coalesce(u.usage_line_owners, []))) as line_owners,
        -- The apps the lines' own tags or labels name.
        list_distinct(list_concat(coalesce(b.billed_line_apps, []), coalesce(u.usage_line_apps, []))) as line_apps,
        u.provider_list_cost_usd is not null as has_usage,
        coalesce(b.has_foreign_currency, false) as has_foreign_currency,
        b.billed_cost_usd is not null as has_bill,
    from call_groups as c
    full outer join usage_groups as u
        on u.day = c.day and u.provider = c.provider and u.model = c.model and u.owner = c.owner
    full outer join cost_groups as b
        on b.day = coalesce(c.day, u.day)
        and b.provider = coalesce(c.provider, u.provider)
        and b.model = coalesce(c.model, u.model)
        and b.owner = coalesce(c.owner, u.owner)
),

calibrated as (
    -- The logged list cost with the provider's 1-hour cache-write split (the premium over a 5-minute write).
    select
        joined.*,
        joined.list_cost_usd + coalesce(
            (joined.calibrated_1h_tokens * (prices.cache_write_1h_usd_per_mtok - prices.cache_write_5m_usd_per_mtok)
                * 0.000001::decimal(7, 6))::decimal(38, 12), 0) as comparable_list_cost_usd,
    from joined
    left join dim_prices as prices
        on prices.day = joined.day and prices.provider = joined.provider and prices.model = joined.model
        and not prices.is_batch
),

shares as (
    select
        *,
        case
            when list_cost_usd <= 0 or billed_cost_usd <= 0 then 0.0
            when coalesce(provider_list_cost_usd, 0) > 0 then least(1.0, comparable_list_cost_usd / provider_list_cost_usd)
            else least(1.0, comparable_list_cost_usd / billed_cost_usd)
        end as explained_share,
    from calibrated
),

attributed as (
    -- The part of the bill the group's calls explain: what attribution spreads over them.
    select
        *,
        case when list_cost_usd = 0 then 0::decimal(38, 12)
             else (billed_cost_usd * explained_share::decimal(18, 15))::decimal(38, 12) end as attributed_cost_usd,
    from shares
),

final as (
    select
        *,
        -- Attributed dollars per list dollar: a call's share is its list cost times this rate.
        case when list_cost_usd = 0 then 0::decimal(38, 15)
             else (attributed_cost_usd / list_cost_usd)::decimal(38, 15) end as attribution_rate,
    from attributed
)

select * from final
