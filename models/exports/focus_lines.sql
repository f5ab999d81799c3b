-- focus_lines: one row per billed line of the day (fct_provider_costs), with what FOCUS needs to know about it
-- before it is split: its reconciliation group, its charge category, its tokens (from the provider's usage
-- export), its cost at the price book's list prices and at the negotiated (contracted) prices, and the rate of
-- its billing currency to USD. Inputs: the day's warehouse tables and dim_focus_prices (pipelines/exports).
with lines as (
    select *, coalesce(model, '(non-model)') as group_model from fct_provider_costs
),

usage as (
    select * from fct_provider_usage
),

prices as (
    select * from dim_focus_prices
),

-- Per day × provider × model the groups are either one per owner or one for all ('*').
granularity as (
    select day, provider, model, bool_or(owner = '*') as by_model from fct_reconciliation group by all
),

grouped as (
    select
        lines.*,
        case when granularity.by_model then '*' else lines.recon_owner end as group_owner,
    from lines
    left join granularity
        on granularity.day = lines.day
        and granularity.provider = lines.provider
        and granularity.model = lines.group_model
),

placed as (
    select
        *,
        -- The group's calls are counted on its largest line only (x_Calls), so they add up once per group.
        row_number() over (
            partition by day, provider, group_model, group_owner order by abs(billed_cost_usd) desc, line_key
        ) = 1 as carries_calls,
        bool_or(token_type = 'reasoning') over (partition by day, provider, group_model, group_owner, is_batch)
            as reasoning_billed_apart,
        -- Lines of one token kind in one group share its usage tokens in proportion to what they billed.
        coalesce(abs(billed_cost_usd) / nullif(sum(abs(billed_cost_usd)) over kind, 0), 1 / count(*) over kind)
            ::decimal(18, 15) as kind_part,
        -- Billing currency per USD, for list and contracted costs (a line billed at 0 takes its day's rate).
        case when currency = 'USD' then 1 else coalesce(
            billed_amount / nullif(billed_cost_usd, 0),
            sum(billed_amount) over fx / nullif(sum(billed_cost_usd) over fx, 0),
            1
        ) end::decimal(20, 12) as fx,
    from grouped
    window
        kind as (partition by day, provider, group_model, group_owner, is_batch, token_type),
        fx as (partition by day, provider, currency)
),

usage_groups as (
    select
        usage.day,
        usage.provider,
        usage.model,
        case when coalesce(granularity.by_model, false) then '*' else usage.recon_owner end as group_owner,
        usage.is_batch,
        sum(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens) as uncached,
        sum(usage.cached_input_tokens) as cached,
        sum(usage.cache_write_tokens - usage.cache_write_1h_tokens) as write_5m,
        sum(usage.cache_write_1h_tokens) as write_1h,
        sum(usage.output_tokens) as output,
        sum(usage.reasoning_tokens) as reasoning,
    from usage
    left join granularity using (day, provider, model)
    group by all
),

-- A token line's tokens of each kind (a line that names no kind bills them all).
tokens as (
    select
        l.line_key,
        (case when coalesce(l.token_type, 'input') = 'input' then u.uncached else 0 end * l.kind_part)
            ::decimal(38, 6) as t_uncached,
        (case when coalesce(l.token_type, 'cached_input') = 'cached_input' then u.cached else 0 end * l.kind_part)
            ::decimal(38, 6) as t_cached,
        (case when coalesce(l.token_type, 'cache_write_5m') = 'cache_write_5m' then u.write_5m else 0 end
            * l.kind_part)::decimal(38, 6) as t_write_5m,
        (case when coalesce(l.token_type, 'cache_write_1h') = 'cache_write_1h' then u.write_1h else 0 end
            * l.kind_part)::decimal(38, 6) as t_write_1h,
        (case
            when l.token_type = 'reasoning' then u.reasoning
            when l.token_type = 'output' and l.reasoning_billed_apart then u.output - u.reasoning
            when coalesce(l.token_type, 'output') = 'output' then u.output
            else 0
        end * l.kind_part)::decimal(38, 6) as t_output,
    from placed as l
    join usage_groups as u
        on u.day = l.day
        and u.provider = l.provider
        and u.model = l.model
        and u.group_owner = l.group_owner
        and u.is_batch = l.is_batch
    where l.cost_type = 'tokens'
),

priced as (
    select
        l.*,
        l.model is not null and l.cost_type = 'tokens' as is_token_sku,
        case l.cost_type when 'credit' then 'Credit' when 'tax' then 'Tax' when 'other' then 'Adjustment'
                         else 'Usage' end as charge_category,
        -- FOCUS files a refund as a correction of the usage it refunds, not as a credit.
        case when l.cost_type = 'refund' then 'Correction' end as charge_class,
        (t.t_uncached + t.t_cached + t.t_write_5m + t.t_write_1h + t.t_output)::decimal(38, 6) as tokens,
        case l.token_type
            when 'input' then p.list_input when 'cached_input' then p.list_cached
            when 'cache_write_5m' then p.list_write_5m when 'cache_write_1h' then p.list_write_1h
            when 'output' then p.list_output when 'reasoning' then p.list_output
        end as list_price_usd,
        case l.token_type
            when 'input' then p.contracted_input when 'cached_input' then p.contracted_cached
            when 'cache_write_5m' then p.contracted_write_5m when 'cache_write_1h' then p.contracted_write_1h
            when 'output' then p.contracted_output when 'reasoning' then p.contracted_output
        end as contracted_price_usd,
        ((t.t_uncached * p.list_input + t.t_cached * p.list_cached + t.t_write_5m * p.list_write_5m
          + t.t_write_1h * p.list_write_1h + t.t_output * p.list_output)
         * 0.000001::decimal(7, 6))::decimal(38, 12) as list_usd_priced,
        ((t.t_uncached * p.contracted_input + t.t_cached * p.contracted_cached
          + t.t_write_5m * p.contracted_write_5m + t.t_write_1h * p.contracted_write_1h
          + t.t_output * p.contracted_output)
         * 0.000001::decimal(7, 6))::decimal(38, 12) as contracted_usd_priced,
        coalesce(p.has_override, false) as has_override,
    from placed as l
    left join tokens as t using (line_key)
    left join prices as p
        on p.provider = l.provider and p.model = l.model and p.day = l.day and p.is_batch = l.is_batch
),

-- FOCUS: List and Contracted Cost are unit price × quantity for usage, and the billed cost where no unit price
-- applies (credits, taxes, adjustments, unpriced models, lines no usage export counts).
final as (
    select
        *,
        case when charge_category = 'Usage' and list_usd_priced is not null then list_usd_priced
             else billed_cost_usd end as list_usd,
        case when charge_category = 'Usage' and has_override and contracted_usd_priced is not null
                 then contracted_usd_priced
             when charge_category = 'Usage' and list_usd_priced is not null then list_usd_priced
             else billed_cost_usd end as contracted_usd,
        case when has_override then contracted_price_usd else list_price_usd end as unit_price_usd,
    from priced
)

select * from final
