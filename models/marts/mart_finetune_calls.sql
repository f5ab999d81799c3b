-- mart_finetune_calls: one row per day × provider × fine-tuned model (a call's model "ft:<base>:<org>::<id>"): its
-- calls, what they cost at the fine-tuned rate, and what the same tokens would have cost on the base model at list
-- price. mart_finetunes (a view over this and fct_provider_costs' fine_tuning lines) sums it by month.
with calls as (
    select
        *,
        split_part(model, ':', 2) as base_model,
    from fct_llm_calls
    where model like 'ft:%'
),

priced as (
    select
        calls.*,
        list_cost_usd(
            calls.input_tokens, calls.cached_input_tokens, calls.cache_write_tokens, calls.cache_write_1h_tokens,
            calls.output_tokens, prices.input_usd_per_mtok, prices.cached_input_usd_per_mtok,
            prices.cache_write_5m_usd_per_mtok, prices.cache_write_1h_usd_per_mtok, prices.output_usd_per_mtok
        ) as base_list_cost_usd,
    from calls
    left join dim_prices as prices
        on prices.day = calls.day
        and prices.provider = calls.provider
        and prices.model = calls.base_model
        and prices.is_batch = calls.is_batch
)

select
    day,
    provider,
    model as fine_tuned_model,
    any_value(base_model) as base_model,
    count(*) as calls,
    sum(input_tokens) as input_tokens,
    sum(output_tokens) as output_tokens,
    sum(cost_usd)::decimal(38, 12) as cost_usd,
    -- null when either side has an unpriced call: a partial sum would fake a saving
    case when bool_and(list_cost_usd is not null) then sum(list_cost_usd) end::decimal(38, 12) as list_cost_usd,
    case when bool_and(base_list_cost_usd is not null) then sum(base_list_cost_usd) end::decimal(38, 12)
        as base_list_cost_usd,
from priced
group by day, provider, model
