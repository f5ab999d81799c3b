-- focus_billing: the attributed bill as a FOCUS 1.3 cost and usage dataset, one row per billed line × attributed
-- share plus each line's unattributed remainder (focus_splits), in FOCUS columns; tokenbooks' own as x_ columns.
-- The mapping is documented in schemas/exports/README.md, the contract in schemas/exports/focus_billing.yaml.
-- Inputs: focus_splits, fct_reconciliation, dim_focus_providers / _models / _tiers. Parameter: $method_id.
with splits as (
    select * from focus_splits
),

groups as (
    select * from fct_reconciliation
),

named as (
    select
        s.*,
        s.is_token_sku and s.charge_category = 'Usage' as priced,
        -- Priced from the price book; else ListCost and ContractedCost are the billed cost, to the last digit.
        s.charge_category = 'Usage' and s.list_usd_priced is not null as unit_priced,
        coalesce(pr.provider_name, s.provider) as provider_name,
        -- Where the provider sells other developers' models, the model's developer published it.
        case when pr.resells then coalesce(m.developer, pr.provider_name) else coalesce(pr.provider_name, s.provider)
            end as publisher_name,
        coalesce(pr.invoice_issuer, s.provider) as invoice_issuer_name,
        coalesce(pr.service_provider, s.provider) as service_provider_name,
        coalesce(pr.host_provider, s.provider) as host_provider_name,
        coalesce(pr.service_name, s.provider) as service_name,
        m.developer as model_developer,
        m.family as model_family,
        m.version as model_version,
        coalesce(t.model_tier, case when s.model is not null then 'unknown' end) as model_tier,
        g.gap_reason,
        g.unattributed_owner,
        g.owner_app,
        g.owner_team,
        case when s.attribution = 'attributed' then concat_ws('/', coalesce(s.app, '-'), coalesce(s.feature, '-'),
            coalesce(s.tenant_id, '-'), coalesce(s.prompt_version, '-'), s.cache_status) end as allocated_id,
        case when s.is_token_sku then concat_ws('/', s.provider, s.model, coalesce(s.token_type, 'tokens'))
             when s.charge_category = 'Usage' then concat_ws('/', s.provider, s.cost_type) end as sku_id,
    from splits as s
    left join dim_focus_providers as pr on pr.provider = s.provider
    left join dim_focus_models as m on m.model = s.model
    left join dim_focus_tiers as t on t.provider = s.provider and t.model = s.model
    left join groups as g
        on g.day = s.day and g.provider = s.provider and g.model = s.group_model and g.owner = s.group_owner
),

final as (
    select
        billed_part::decimal(38, 12) as BilledCost,
        provider as BillingAccountId,
        provider_name as BillingAccountName,
        currency as BillingCurrency,
        timezone('UTC', (date_trunc('month', day) + interval 1 month)::timestamp) as BillingPeriodEnd,
        timezone('UTC', date_trunc('month', day)::timestamp) as BillingPeriodStart,
        charge_category as ChargeCategory,
        charge_class as ChargeClass,
        coalesce(line_item, cost_type) as ChargeDescription,
        case when charge_category = 'Usage' then 'Usage-Based' else 'One-Time' end as ChargeFrequency,
        timezone('UTC', (day + 1)::timestamp) as ChargePeriodEnd,
        timezone('UTC', day::timestamp) as ChargePeriodStart,
        case when priced then tokens_part::decimal(38, 12) end as ConsumedQuantity,
        case when priced and tokens_part is not null then 'Tokens' end as ConsumedUnit,
        case when unit_priced then (contracted_usd_part * fx)::decimal(38, 12) else billed_part end as ContractedCost,
        case when priced then (unit_price_usd * fx)::decimal(38, 12) end as ContractedUnitPrice,
        billed_part::decimal(38, 12) as EffectiveCost,
        host_provider_name as HostProviderName,
        invoice_issuer_name as InvoiceIssuerName,
        case when unit_priced then (list_usd_part * fx)::decimal(38, 12) else billed_part end as ListCost,
        case when priced then (list_price_usd * fx)::decimal(38, 12) end as ListUnitPrice,
        case when charge_category = 'Usage' then 'Standard' end as PricingCategory,
        'USD' as PricingCurrency,
        case when priced then unit_price_usd::decimal(38, 12) end as PricingCurrencyContractedUnitPrice,
        billed_usd_part::decimal(38, 12) as PricingCurrencyEffectiveCost,
        case when priced then list_price_usd::decimal(38, 12) end as PricingCurrencyListUnitPrice,
        case when priced then (tokens_part * 0.000001::decimal(7, 6))::decimal(38, 12) end as PricingQuantity,
        case when priced and tokens_part is not null then '1000000 Tokens' end as PricingUnit,
        provider_name as ProviderName,
        publisher_name as PublisherName,
        null::varchar as RegionId,
        null::varchar as RegionName,
        'AI and Machine Learning' as ServiceCategory,
        service_name as ServiceName,
        service_provider_name as ServiceProviderName,
        'Generative AI' as ServiceSubcategory,
        -- Every usage line has a SKU (the validator's 1.0 rule); only model token lines have quantities and prices.
        sku_id as SkuId,
        case when sku_id is not null then
            case coalesce(token_type, cost_type)
                when 'input' then 'Input Tokens' when 'cached_input' then 'Cache Read Input Tokens'
                when 'cache_write_5m' then 'Cache Write Input Tokens'
                when 'cache_write_1h' then 'Cache Write Input Tokens (1h)'
                when 'output' then 'Output Tokens' when 'reasoning' then 'Reasoning Output Tokens'
                when 'tokens' then 'Tokens' when 'web_search' then 'Web Search'
                when 'code_execution' then 'Code Execution' when 'storage' then 'Storage' when 'refund' then 'Refund'
                else cost_type
            end
        end as SkuMeter,
        case when is_token_sku then to_json(map_from_entries(list_filter([
            {'k': 'ModelDeveloper', 'v': model_developer},
            {'k': 'ModelFamily', 'v': model_family},
            {'k': 'ModelId', 'v': model},
            {'k': 'ModelVersion', 'v': model_version},
            {'k': 'TokenCacheAction', 'v': case token_type when 'input' then 'Uncached' when 'cached_input' then 'Read'
                when 'cache_write_5m' then 'Write' when 'cache_write_1h' then 'Write' end},
            {'k': 'TokenDirection', 'v': case when token_type in ('output', 'reasoning') then 'Output'
                when token_type is not null then 'Input' end},
            {'k': 'x_ServiceTier', 'v': case when is_batch then 'batch' else 'standard' end},
        ], lambda e: e.v is not null)))::varchar end as SkuPriceDetails,
        case when sku_id is not null then concat_ws('/', sku_id, case when is_batch then 'batch' else 'standard' end)
            end as SkuPriceId,
        coalesce(project_id, workspace_id) as SubAccountId,
        coalesce(project_id, workspace_id) as SubAccountName,
        case when project_id is not null then 'Project' when workspace_id is not null then 'Workspace' end
            as SubAccountType,
        case when owner is not null then json_object('tokenbooks/billed_owner', owner)::varchar end as Tags,
        -- FOCUS 1.3 split cost allocation: every row is a split of its billed line (the origin charge).
        $method_id as AllocatedMethodId,
        json_object(
            'Elements', [case when attribution = 'attributed'
                then json_object('AllocatedRatio', ratio_part, 'UsageUnit', 'USD', 'UsageQuantity', share_list_usd)
                else json_object('AllocatedRatio', ratio_part) end],
            'x_Basis', case when attribution = 'attributed' then 'list cost of the logged calls'
                            else 'not explained by logged calls' end,
            'x_ReconciliationOwner', group_owner,
            'x_GapReason', gap_reason
        )::varchar as AllocatedMethodDetails,
        allocated_id as AllocatedResourceId,
        case when attribution = 'attributed' then concat_ws(' / ', coalesce(app, '-'), coalesce(feature, '-'),
            coalesce(tenant_id, '-')) end as AllocatedResourceName,
        to_json(map_from_entries(list_filter(
            case when attribution = 'attributed' then [
                {'k': 'tokenbooks/app', 'v': app},
                {'k': 'tokenbooks/feature', 'v': feature},
                {'k': 'tokenbooks/tenant_id', 'v': tenant_id},
                {'k': 'tokenbooks/prompt_version', 'v': prompt_version},
                {'k': 'tokenbooks/cache_status', 'v': cache_status},
            ] else [
                {'k': 'tokenbooks/unattributed', 'v': 'true'},
                {'k': 'tokenbooks/owner', 'v': unattributed_owner},
                {'k': 'tokenbooks/owner_app', 'v': owner_app},
                {'k': 'tokenbooks/owner_team', 'v': owner_team},
            ] end, lambda e: e.v is not null)))::varchar as AllocatedTags,
        -- The columns focus-validator 1.0.0 checks under "1.0", in its (FOCUS 1.0-preview) spellings.
        provider_name as Provider,
        publisher_name as Publisher,
        invoice_issuer_name as InvoiceIssuer,
        charge_category as ChargeType,
        null::varchar as ResourceID,
        null::varchar as ResourceName,
        null::varchar as ResourceType,
        null::varchar as CommitmentDiscountCategory,
        null::varchar as CommitmentDiscountId,
        null::varchar as CommitmentDiscountName,
        null::varchar as CommitmentDiscountStatus,
        null::varchar as CommitmentDiscountType,
        -- tokenbooks' own columns
        provider as x_Provider,
        model as x_ModelId,
        model_raw as x_ModelRaw,
        model_tier as x_ModelTier,
        token_type as x_TokenType,
        cost_type as x_CostType,
        is_batch as x_IsBatch,
        attribution as x_Attribution,
        case when attribution = 'attributed' then app else owner_app end as x_App,
        case when attribution = 'attributed' then feature else '(unattributed)' end as x_Feature,
        tenant_id as x_TenantId,
        prompt_version as x_PromptVersion,
        case when attribution = 'attributed' then cache_status else 'unattributed' end as x_CacheStatus,
        calls as x_Calls,
        case when attribution = 'unattributed' then unattributed_owner end as x_UnattributedOwner,
        owner_app as x_OwnerApp,
        owner_team as x_OwnerTeam,
        gap_reason as x_GapReason,
        group_owner as x_ReconciliationOwner,
        line_key as x_LineKey,
        coalesce(allocated_id, '(unattributed)') as x_AllocationId,
        ratio_part::decimal(18, 15) as x_AllocatedRatio,
        billed_usd_part::decimal(38, 12) as x_BilledCostUsd,
        billed_usd_part::decimal(38, 12) as x_EffectiveCostUsd,
        list_usd_part::decimal(38, 12) as x_ListCostUsd,
        contracted_usd_part::decimal(38, 12) as x_ContractedCostUsd,
    from named
)

select * from final
