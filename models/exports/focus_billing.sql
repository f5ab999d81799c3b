-- focus_billing: the provider's bill as a FOCUS 1.3 cost and usage dataset, one row per billed line × attributed
-- share (app, feature, tenant, prompt version, cache status), plus each line's unattributed remainder.
--
-- Each billed line (fct_provider_costs) is split within its reconciliation group (fct_reconciliation) the way
-- fct_llm_calls.attributed_cost_usd is: a share gets line × (group attributed / group billed) × (the share's part
-- of the group's attributed cost), i.e. list-cost-proportional. The remainder is the line minus its shares, so a
-- line's rows add up to the line exactly, in USD and as billed. Tokens, list and contracted cost split alike.
-- Inputs: the day's warehouse tables and dim_focus_prices / _providers / _models / _tiers (pipelines/exports).
-- Parameter: $method_id (AllocatedMethodId).
with lines as (
    select *, coalesce(model, '(non-model)') as group_model from fct_provider_costs
),

recon as (
    select * from fct_reconciliation
),

calls as (
    select * from fct_llm_calls
),

usage as (
    select * from fct_provider_usage
),

-- Per day × provider × model the groups are either one per owner or one for all ('*').
granularity as (
    select day, provider, model, bool_or(owner = '*') as by_model from recon group by all
),

lines_grouped as (
    select
        lines.*,
        case when granularity.by_model then '*' else lines.recon_owner end as group_owner,
    from lines
    left join granularity
        on granularity.day = lines.day and granularity.provider = lines.provider and granularity.model = lines.group_model
),

line_groups as (
    select
        *,
        -- The model's calls carry the group's x_Calls on its largest line only, so they add up once per group.
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
    from lines_grouped
    window
        kind as (partition by day, provider, group_model, group_owner, is_batch, token_type),
        fx as (partition by day, provider, currency)
),

groups as (
    select
        recon.*,
        case when recon.billed_cost_usd <> 0 then recon.attributed_cost_usd / recon.billed_cost_usd else 0 end
            as explained,
    from recon
),

call_shares as (
    select
        calls.day,
        calls.provider,
        calls.model,
        case when granularity.by_model then '*'
             else coalesce('project:' || calls.project_id, 'workspace:' || calls.workspace_id) end as group_owner,
        calls.app,
        calls.feature,
        calls.tenant_id,
        calls.prompt_version,
        calls.cache_status,
        count(*) as calls,
        sum(calls.attributed_cost_usd) as attributed_usd,
        coalesce(sum(calls.list_cost_usd), 0)::decimal(38, 12) as list_usd,
    from calls
    join granularity using (day, provider, model)
    where calls.attributed_cost_usd <> 0
    group by all
),

shares as (
    select
        call_shares.*,
        (groups.explained * call_shares.attributed_usd
            / sum(call_shares.attributed_usd) over (partition by call_shares.day, call_shares.provider,
                                                   call_shares.model, call_shares.group_owner))::decimal(18, 15)
            as ratio,
    from call_shares
    join groups
        on groups.day = call_shares.day
        and groups.provider = call_shares.provider
        and groups.model = call_shares.model
        and groups.owner = call_shares.group_owner
    where groups.explained <> 0
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

-- A token line's tokens by kind (a line that does not name its kind bills them all), from the provider's usage.
line_tokens as (
    select
        l.line_key,
        (case when l.token_type = 'input' or l.token_type is null then u.uncached else 0 end * l.kind_part)::decimal(38, 6) as t_uncached,
        (case when l.token_type = 'cached_input' or l.token_type is null then u.cached else 0 end * l.kind_part)::decimal(38, 6) as t_cached,
        (case when l.token_type = 'cache_write_5m' or l.token_type is null then u.write_5m else 0 end * l.kind_part)::decimal(38, 6) as t_write_5m,
        (case when l.token_type = 'cache_write_1h' or l.token_type is null then u.write_1h else 0 end * l.kind_part)::decimal(38, 6) as t_write_1h,
        (case
            when l.token_type = 'reasoning' then u.reasoning
            when l.token_type = 'output' and l.reasoning_billed_apart then u.output - u.reasoning
            when l.token_type = 'output' or l.token_type is null then u.output
            else 0
        end * l.kind_part)::decimal(38, 6) as t_output,
    from line_groups as l
    join usage_groups as u
        on u.day = l.day and u.provider = l.provider and u.model = l.model
        and u.group_owner = l.group_owner and u.is_batch = l.is_batch
    where l.cost_type = 'tokens'
),

priced_lines as (
    select
        l.*,
        l.model is not null and l.cost_type = 'tokens' as is_token_sku,
        case l.cost_type
            when 'credit' then 'Credit'
            when 'tax' then 'Tax'
            when 'other' then 'Adjustment'
            else 'Usage'
        end as charge_category,
        case when l.cost_type = 'refund' then 'Correction' end as charge_class,
        (t.t_uncached + t.t_cached + t.t_write_5m + t.t_write_1h + t.t_output)::decimal(38, 6) as tokens,
        case coalesce(l.token_type, 'all')
            when 'input' then p.list_input when 'cached_input' then p.list_cached
            when 'cache_write_5m' then p.list_write_5m when 'cache_write_1h' then p.list_write_1h
            when 'output' then p.list_output when 'reasoning' then p.list_output
        end as list_price_usd,
        case coalesce(l.token_type, 'all')
            when 'input' then p.contracted_input when 'cached_input' then p.contracted_cached
            when 'cache_write_5m' then p.contracted_write_5m when 'cache_write_1h' then p.contracted_write_1h
            when 'output' then p.contracted_output when 'reasoning' then p.contracted_output
        end as contracted_price_usd,
        ((t.t_uncached * p.list_input + t.t_cached * p.list_cached + t.t_write_5m * p.list_write_5m
          + t.t_write_1h * p.list_write_1h + t.t_output * p.list_output) * 0.000001::decimal(7, 6))::decimal(38, 12)
            as list_usd_priced,
        ((t.t_uncached * p.contracted_input + t.t_cached * p.contracted_cached + t.t_write_5m * p.contracted_write_5m
          + t.t_write_1h * p.contracted_write_1h + t.t_output * p.contracted_output) * 0.000001::decimal(7, 6))::decimal(38, 12)
            as contracted_usd_priced,
        coalesce(p.has_override, false) as has_override,
    from line_groups as l
    left join line_tokens as t using (line_key)
    left join dim_focus_prices as p
        on p.provider = l.provider and p.model = l.model and p.day = l.day and p.is_batch = l.is_batch
),

-- What FOCUS asks of List and Contracted Cost: the price book (and the negotiated price) times the quantity for
-- usage; the billed cost where there is no unit price (credits, taxes, adjustments, unpriced models).
costed_lines as (
    select
        *,
        case when charge_category = 'Usage' and list_usd_priced is not null then list_usd_priced
             else billed_cost_usd end as list_usd,
        case when charge_category = 'Usage' and has_override and contracted_usd_priced is not null then contracted_usd_priced
             when charge_category = 'Usage' and list_usd_priced is not null then list_usd_priced
             else billed_cost_usd end as contracted_usd,
    from priced_lines
),

split as (
    select
        costed_lines.*,
        'attributed' as attribution,
        shares.app,
        shares.feature,
        shares.tenant_id,
        shares.prompt_version,
        shares.cache_status,
        case when costed_lines.carries_calls then shares.calls else 0 end as calls,
        shares.list_usd as share_list_usd,
        shares.ratio,
    from costed_lines
    join shares
        on shares.day = costed_lines.day
        and shares.provider = costed_lines.provider
        and shares.model = costed_lines.group_model
        and shares.group_owner = costed_lines.group_owner
    union all by name
    select costed_lines.*, 'unattributed' as attribution, 0::bigint as calls,
    from costed_lines
),

-- Shares are rounded to 12 decimals; the remainder takes what they leave, so each line adds up exactly.
amounts as (
    select
        *,
        case when attribution = 'attributed' then (billed_cost_usd * ratio)::decimal(38, 12) end as s_billed_usd,
        case when attribution = 'attributed' then (billed_amount * ratio)::decimal(38, 12) end as s_billed,
        case when attribution = 'attributed' then (list_usd * ratio)::decimal(38, 12) end as s_list_usd,
        case when attribution = 'attributed' then (contracted_usd * ratio)::decimal(38, 12) end as s_contracted_usd,
        case when attribution = 'attributed' then (tokens * ratio)::decimal(38, 6) end as s_tokens,
    from split
),

rows as (
    select
        *,
        coalesce(s_billed_usd, billed_cost_usd - coalesce(sum(s_billed_usd) over line, 0)) as r_billed_usd,
        coalesce(s_billed, billed_amount - coalesce(sum(s_billed) over line, 0)) as r_billed,
        coalesce(s_list_usd, list_usd - coalesce(sum(s_list_usd) over line, 0)) as r_list_usd,
        coalesce(s_contracted_usd, contracted_usd - coalesce(sum(s_contracted_usd) over line, 0)) as r_contracted_usd,
        coalesce(s_tokens, tokens - coalesce(sum(s_tokens) over line, 0)) as r_tokens,
        coalesce(ratio, 1 - coalesce(sum(ratio) over line, 0)) as r_ratio,
        count(*) over line as line_rows,
        -- A line its calls explain whole: what rounding left goes to its largest share, not to a remainder row.
        count(ratio) over line > 0 and abs(1 - sum(ratio) over line) < 0.000000001 as whole,
        row_number() over (
            partition by line_key
            order by ratio desc nulls last, app, feature, tenant_id, prompt_version, cache_status
        ) = 1 as largest,
    from amounts
    window line as (partition by line_key)
),

settled as (
    select
        *,
        r_billed_usd + case when whole and largest then sum(r_billed_usd) filter (where attribution = 'unattributed') over line else 0 end as row_billed_usd,
        r_billed + case when whole and largest then sum(r_billed) filter (where attribution = 'unattributed') over line else 0 end as row_billed,
        r_list_usd + case when whole and largest then sum(r_list_usd) filter (where attribution = 'unattributed') over line else 0 end as row_list_usd,
        r_contracted_usd + case when whole and largest then sum(r_contracted_usd) filter (where attribution = 'unattributed') over line else 0 end as row_contracted_usd,
        r_tokens + case when whole and largest then sum(r_tokens) filter (where attribution = 'unattributed') over line else 0 end as row_tokens,
        r_ratio + case when whole and largest then sum(r_ratio) filter (where attribution = 'unattributed') over line else 0 end as row_ratio,
    from rows
    window line as (partition by line_key)
),

-- A remainder of nothing is no row, unless it is the whole line (a line nobody's calls explain, a line of 0).
kept as (
    select * from settled
    where attribution = 'attributed'
        or (not whole and (line_rows = 1 or row_billed_usd <> 0 or row_billed <> 0))
),

final as (
    select
        k.row_billed::decimal(38, 12) as BilledCost,
        k.provider as BillingAccountId,
        coalesce(pr.provider_name, k.provider) as BillingAccountName,
        k.currency as BillingCurrency,
        timezone('UTC', (date_trunc('month', k.day) + interval 1 month)::timestamp) as BillingPeriodEnd,
        timezone('UTC', date_trunc('month', k.day)::timestamp) as BillingPeriodStart,
        k.charge_category as ChargeCategory,
        k.charge_class as ChargeClass,
        coalesce(k.line_item, k.cost_type) as ChargeDescription,
        case when k.charge_category = 'Usage' then 'Usage-Based' else 'One-Time' end as ChargeFrequency,
        timezone('UTC', (k.day + 1)::timestamp) as ChargePeriodEnd,
        timezone('UTC', k.day::timestamp) as ChargePeriodStart,
        case when k.is_token_sku then k.row_tokens::decimal(38, 12) end as ConsumedQuantity,
        case when k.is_token_sku and k.row_tokens is not null then 'Tokens' end as ConsumedUnit,
        (k.row_contracted_usd * k.fx)::decimal(38, 12) as ContractedCost,
        case when k.is_token_sku
             then ((case when k.has_override then k.contracted_price_usd else k.list_price_usd end) * k.fx)::decimal(38, 12)
        end as ContractedUnitPrice,
        k.row_billed::decimal(38, 12) as EffectiveCost,
        coalesce(pr.host_provider, k.provider) as HostProviderName,
        coalesce(pr.invoice_issuer, k.provider) as InvoiceIssuerName,
        (k.row_list_usd * k.fx)::decimal(38, 12) as ListCost,
        case when k.is_token_sku then (k.list_price_usd * k.fx)::decimal(38, 12) end as ListUnitPrice,
        case when k.charge_category = 'Usage' then 'Standard' end as PricingCategory,
        'USD' as PricingCurrency,
        case when k.is_token_sku then
            (case when k.has_override then k.contracted_price_usd else k.list_price_usd end)::decimal(38, 12)
        end as PricingCurrencyContractedUnitPrice,
        k.row_billed_usd::decimal(38, 12) as PricingCurrencyEffectiveCost,
        case when k.is_token_sku then k.list_price_usd::decimal(38, 12) end
            as PricingCurrencyListUnitPrice,
        case when k.is_token_sku then (k.row_tokens * 0.000001::decimal(7, 6))::decimal(38, 12) end
            as PricingQuantity,
        case when k.is_token_sku and k.row_tokens is not null then '1000000 Tokens' end
            as PricingUnit,
        coalesce(pr.provider_name, k.provider) as ProviderName,
        case when pr.resells then coalesce(m.developer, pr.provider_name) else coalesce(pr.provider_name, k.provider) end
            as PublisherName,
        null::varchar as RegionId,
        null::varchar as RegionName,
        'AI and Machine Learning' as ServiceCategory,
        coalesce(pr.service_name, k.provider) as ServiceName,
        coalesce(pr.service_provider, k.provider) as ServiceProviderName,
        'Generative AI' as ServiceSubcategory,
        -- Every usage line has a SKU (the validator's 1.0 rule); only model token lines have a quantity and prices.
        case when k.is_token_sku then concat_ws('/', k.provider, k.model, coalesce(k.token_type, 'tokens'))
             when k.charge_category = 'Usage' then concat_ws('/', k.provider, k.cost_type) end as SkuId,
        case when k.charge_category = 'Usage' then
            case coalesce(k.token_type, k.cost_type)
                when 'input' then 'Input Tokens' when 'cached_input' then 'Cache Read Input Tokens'
                when 'cache_write_5m' then 'Cache Write Input Tokens' when 'cache_write_1h' then 'Cache Write Input Tokens (1h)'
                when 'output' then 'Output Tokens' when 'reasoning' then 'Reasoning Output Tokens'
                when 'tokens' then 'Tokens' when 'web_search' then 'Web Search' when 'code_execution' then 'Code Execution'
                when 'storage' then 'Storage' when 'refund' then 'Refund'
                else k.cost_type
            end
        end as SkuMeter,
        case when k.is_token_sku then to_json(map_from_entries(list_filter([
            {'k': 'ModelDeveloper', 'v': m.developer},
            {'k': 'ModelFamily', 'v': m.family},
            {'k': 'ModelId', 'v': k.model},
            {'k': 'ModelVersion', 'v': m.version},
            {'k': 'TokenCacheAction', 'v': case k.token_type when 'input' then 'Uncached' when 'cached_input' then 'Read'
                                                when 'cache_write_5m' then 'Write' when 'cache_write_1h' then 'Write' end},
            {'k': 'TokenDirection', 'v': case when k.token_type in ('output', 'reasoning') then 'Output'
                                              when k.token_type is not null then 'Input' end},
            {'k': 'x_ServiceTier', 'v': case when k.is_batch then 'batch' else 'standard' end},
        ], lambda e: e.v is not null)))::varchar end as SkuPriceDetails,
        case when k.is_token_sku then concat_ws('/', k.provider, k.model, coalesce(k.token_type, 'tokens'),
                                                case when k.is_batch then 'batch' else 'standard' end)
             when k.charge_category = 'Usage' then concat_ws('/', k.provider, k.cost_type, 'standard') end as SkuPriceId,
        coalesce(k.project_id, k.workspace_id) as SubAccountId,
        coalesce(k.project_id, k.workspace_id) as SubAccountName,
        case when k.project_id is not null then 'Project' when k.workspace_id is not null then 'Workspace' end
            as SubAccountType,
        case when k.owner is not null then json_object('tokenbooks/billed_owner', k.owner)::varchar end as Tags,
        -- FOCUS 1.3 split cost allocation
        $method_id as AllocatedMethodId,
        json_object(
            'Elements', [case when k.attribution = 'attributed'
                              then json_object('AllocatedRatio', k.row_ratio, 'UsageUnit', 'USD', 'UsageQuantity', k.share_list_usd)
                              else json_object('AllocatedRatio', k.row_ratio) end],
            'x_Basis', case when k.attribution = 'attributed' then 'list cost of the logged calls' else 'not explained by logged calls' end,
            'x_ReconciliationOwner', k.group_owner,
            'x_GapReason', g.gap_reason
        )::varchar as AllocatedMethodDetails,
        case when k.attribution = 'attributed' then concat_ws('/', coalesce(k.app, '-'), coalesce(k.feature, '-'),
            coalesce(k.tenant_id, '-'), coalesce(k.prompt_version, '-'), k.cache_status) end as AllocatedResourceId,
        case when k.attribution = 'attributed' then concat_ws(' / ', coalesce(k.app, '-'), coalesce(k.feature, '-'),
            coalesce(k.tenant_id, '-')) end as AllocatedResourceName,
        to_json(map_from_entries(list_filter(
            case when k.attribution = 'attributed' then [
                {'k': 'tokenbooks/app', 'v': k.app},
                {'k': 'tokenbooks/feature', 'v': k.feature},
                {'k': 'tokenbooks/tenant_id', 'v': k.tenant_id},
                {'k': 'tokenbooks/prompt_version', 'v': k.prompt_version},
                {'k': 'tokenbooks/cache_status', 'v': k.cache_status},
            ] else [
                {'k': 'tokenbooks/unattributed', 'v': 'true'},
                {'k': 'tokenbooks/owner', 'v': g.unattributed_owner},
                {'k': 'tokenbooks/owner_app', 'v': g.owner_app},
                {'k': 'tokenbooks/owner_team', 'v': g.owner_team},
            ] end, lambda e: e.v is not null)))::varchar as AllocatedTags,
        -- The column names focus-validator 1.0.0 checks under "1.0" (FOCUS 1.0-preview spellings).
        coalesce(pr.provider_name, k.provider) as Provider,
        case when pr.resells then coalesce(m.developer, pr.provider_name) else coalesce(pr.provider_name, k.provider) end
            as Publisher,
        coalesce(pr.invoice_issuer, k.provider) as InvoiceIssuer,
        k.charge_category as ChargeType,
        null::varchar as ResourceID,
        null::varchar as ResourceName,
        null::varchar as ResourceType,
        null::varchar as CommitmentDiscountCategory,
        null::varchar as CommitmentDiscountId,
        null::varchar as CommitmentDiscountName,
        null::varchar as CommitmentDiscountStatus,
        null::varchar as CommitmentDiscountType,
        -- tokenbooks' own columns
        k.provider as x_Provider,
        k.model as x_ModelId,
        k.model_raw as x_ModelRaw,
        coalesce(t.model_tier, case when k.model is not null then 'unknown' end) as x_ModelTier,
        k.token_type as x_TokenType,
        k.cost_type as x_CostType,
        k.is_batch as x_IsBatch,
        k.attribution as x_Attribution,
        case when k.attribution = 'attributed' then k.app else g.owner_app end as x_App,
        case when k.attribution = 'attributed' then k.feature else '(unattributed)' end as x_Feature,
        k.tenant_id as x_TenantId,
        k.prompt_version as x_PromptVersion,
        case when k.attribution = 'attributed' then k.cache_status else 'unattributed' end as x_CacheStatus,
        k.calls as x_Calls,
        case when k.attribution = 'unattributed' then g.unattributed_owner end as x_UnattributedOwner,
        g.owner_app as x_OwnerApp,
        g.owner_team as x_OwnerTeam,
        g.gap_reason as x_GapReason,
        k.group_owner as x_ReconciliationOwner,
        k.line_key as x_LineKey,
        coalesce(case when k.attribution = 'attributed' then
            concat_ws('/', coalesce(k.app, '-'), coalesce(k.feature, '-'), coalesce(k.tenant_id, '-'),
                      coalesce(k.prompt_version, '-'), k.cache_status) end, '(unattributed)') as x_AllocationId,
        k.row_ratio::decimal(18, 15) as x_AllocatedRatio,
        k.row_billed_usd::decimal(38, 12) as x_BilledCostUsd,
        k.row_billed_usd::decimal(38, 12) as x_EffectiveCostUsd,
        k.row_list_usd::decimal(38, 12) as x_ListCostUsd,
        k.row_contracted_usd::decimal(38, 12) as x_ContractedCostUsd,
    from kept as k
    left join dim_focus_providers as pr on pr.provider = k.provider
    left join dim_focus_models as m on m.model = k.model
    left join dim_focus_tiers as t on t.provider = k.provider and t.model = k.model
    left join groups as g on g.day = k.day and g.provider = k.provider and g.model = k.group_model and g.owner = k.group_owner
)

select * from final
