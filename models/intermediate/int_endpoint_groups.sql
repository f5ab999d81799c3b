-- int_endpoint_groups: one row per day × serving endpoint (GPU instances, a managed endpoint, provisioned
-- throughput): what its infrastructure cost, the calls it served, its utilisation, and the part of its cost the
-- calls carry.
--
-- Capacity is configured (capacity_tokens_per_hour × the hours billed, 24 when the lines say no hours) or measured
-- (the day's busiest hour × 24). Utilisation = tokens served / capacity, at most 1. The calls carry the cost in
-- proportion to their tokens, up to the utilised share: attributed = billed × utilisation; the idle rest stays
-- unattributed with the endpoint as owner, so attributed + idle = billed exactly.
with lines as (
    select
        day,
        endpoint,
        any_value(provider) as provider,
        sum(billed_cost_usd)::decimal(38, 12) as billed_cost_usd,
        sum(usage_hours)::decimal(38, 9) as usage_hours,
        case when bool_or(cost_type = 'provisioned') then 'provisioned' else 'compute' end as endpoint_kind,
        string_agg(distinct billed_by, ', ' order by billed_by) as billed_by,
        list(distinct owner_app) filter (where owner_app is not null) as line_apps,
        bool_or(currency <> 'USD') as has_foreign_currency,
    from stg_provider_costs
    where endpoint is not null
    group by all
),

served as (
    select
        *,
        case when is_unbilled then 0 else input_tokens + output_tokens end as tokens,
    from int_call_totals
    where endpoint is not null
),

calls as (
    select
        day,
        endpoint,
        any_value(provider) as provider,
        sum(calls)::bigint as calls,
        coalesce(sum(calls) filter (where is_unbilled), 0)::bigint as unbilled_calls,
        sum(tokens) as tokens,
        sum(case when is_unbilled then 0 else input_tokens end) as input_tokens,
        sum(case when is_unbilled then 0 else cached_input_tokens end) as cached_input_tokens,
        sum(case when is_unbilled then 0 else cache_write_tokens end) as cache_write_tokens,
        sum(case when is_unbilled then 0 else cache_write_1h_tokens end) as cache_write_1h_tokens,
        sum(case when is_unbilled then 0 else output_tokens end) as output_tokens,
        coalesce(sum(list_cost_usd), 0)::decimal(38, 12) as list_cost_usd,
    from served
    group by all
),

hours as (
    select day, endpoint, max(tokens) as busiest_hour_tokens,
    from (
        select day, endpoint, hour, sum(tokens) as tokens
        from served
        group by all
    )
    group by all
),

joined as (
    select
        coalesce(lines.day, calls.day) as day,
        coalesce(lines.endpoint, calls.endpoint) as endpoint,
        coalesce(lines.provider, calls.provider) as provider,
        coalesce(lines.endpoint_kind, 'compute') as endpoint_kind,
        lines.billed_by,
        coalesce(lines.billed_cost_usd, 0)::decimal(38, 12) as billed_cost_usd,
        lines.usage_hours,
        coalesce(calls.calls, 0) as calls,
        coalesce(calls.unbilled_calls, 0) as unbilled_calls,
        coalesce(calls.tokens, 0) as tokens,
        coalesce(calls.input_tokens, 0) as input_tokens,
        coalesce(calls.cached_input_tokens, 0) as cached_input_tokens,
        coalesce(calls.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(calls.cache_write_1h_tokens, 0) as cache_write_1h_tokens,
        coalesce(calls.output_tokens, 0) as output_tokens,
        coalesce(calls.list_cost_usd, 0)::decimal(38, 12) as list_cost_usd,
        coalesce(hours.busiest_hour_tokens, 0) as busiest_hour_tokens,
        coalesce(lines.line_apps, []) as line_apps,
        coalesce(lines.has_foreign_currency, false) as has_foreign_currency,
        lines.day is not null as has_bill,
    from lines
    full outer join calls on calls.day = lines.day and calls.endpoint = lines.endpoint
    left join hours
        on hours.day = coalesce(lines.day, calls.day) and hours.endpoint = coalesce(lines.endpoint, calls.endpoint)
),

capacity as (
    select
        joined.*,
        endpoints.app as endpoint_app,
        endpoints.reference_provider,
        endpoints.reference_model,
        case when endpoints.capacity_tokens_per_hour is not null then 'configured' else 'measured' end as capacity_source,
        case
            when endpoints.capacity_tokens_per_hour is not null
                then (endpoints.capacity_tokens_per_hour * coalesce(joined.usage_hours, 24))::decimal(38, 6)
            else (joined.busiest_hour_tokens * 24)::decimal(38, 6)
        end as capacity_tokens,
    from joined
    left join dim_endpoints as endpoints using (endpoint)
),

utilised as (
    select
        *,
        case when tokens = 0 then 0.0
             when capacity_tokens > 0 then least(1.0, tokens / capacity_tokens)
             else 1.0 end as utilisation,
    from capacity
),

attributed as (
    select
        *,
        case when tokens = 0 or billed_cost_usd = 0 then 0::decimal(38, 12)
             else (billed_cost_usd * utilisation::decimal(18, 15))::decimal(38, 12) end as attributed_cost_usd,
    from utilised
),

final as (
    select
        *,
        (billed_cost_usd - attributed_cost_usd)::decimal(38, 12) as idle_cost_usd,
        -- Attributed dollars per token served: a call's share is its tokens times this rate.
        case when tokens = 0 then 0::decimal(38, 18)
             else (attributed_cost_usd / tokens)::decimal(38, 18) end as attribution_rate_per_token,
    from attributed
)

select * from final
