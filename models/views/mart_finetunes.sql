-- mart_finetunes: one row per month × provider × fine-tuned model: training (fct_provider_costs' fine_tuning
-- lines), storage/hosting where billed, inference and the base model's list price for the same calls, and the
-- months the training takes to pay back. A training line names only the base ("ft-gpt-4o-mini-2024-07-18
-- training"): it goes to the fine-tuned models of that base called that month, split by their calls; with none
-- called it stays on a row without a fine-tuned model. A view of the published warehouse, over
-- mart_finetune_calls and fct_provider_costs.
with calls as (
    select
        date_trunc('month', day)::date as month,
        provider,
        fine_tuned_model,
        any_value(base_model) as base_model,
        count(distinct day) as days_with_calls,
        sum(calls) as calls,
        sum(cost_usd) as inference_cost_usd,
        case when bool_and(list_cost_usd is not null) then sum(list_cost_usd) end as inference_list_cost_usd,
        case when bool_and(base_list_cost_usd is not null) then sum(base_list_cost_usd) end
            as base_list_cost_usd,
    from mart_finetune_calls
    group by all
),
lines as (
    select
        date_trunc('month', day)::date as month,
        provider,
        regexp_extract(line_item, '^ft[-:]([^ :,]+)', 1) as base_model,
        coalesce(sum(billed_cost_usd) filter (where not regexp_matches(lower(line_item), 'storage|hosting')), 0)
            as training_cost_usd,
        coalesce(sum(billed_cost_usd) filter (where regexp_matches(lower(line_item), 'storage|hosting')), 0)
            as storage_cost_usd,
    from fct_provider_costs
    where cost_type = 'fine_tuning'
    group by all
),
shared as (
    select
        coalesce(calls.month, lines.month) as month,
        coalesce(calls.provider, lines.provider) as provider,
        calls.fine_tuned_model,
        coalesce(calls.base_model, lines.base_model) as base_model,
        calls.days_with_calls,
        coalesce(calls.calls, 0) as calls,
        coalesce(calls.calls / sum(calls.calls) over (
            partition by calls.month, calls.provider, calls.base_model), 1)::decimal(18, 15) as share,
        lines.training_cost_usd,
        lines.storage_cost_usd,
        calls.inference_cost_usd,
        calls.inference_list_cost_usd,
        calls.base_list_cost_usd,
    from calls
    full outer join lines
        on lines.month = calls.month and lines.provider = calls.provider and lines.base_model = calls.base_model
),
costed as (
    select
        * exclude (share, training_cost_usd, storage_cost_usd),
        coalesce(training_cost_usd * share, 0)::decimal(38, 12) as training_cost_usd,
        coalesce(storage_cost_usd * share, 0)::decimal(38, 12) as storage_cost_usd,
        -- what the same calls saved against the base model this month, at a whole month's volume
        ((base_list_cost_usd - inference_list_cost_usd) * day(last_day(month)) / days_with_calls)
            ::decimal(38, 12) as monthly_saving_usd,
    from shared
),
to_date as (
    select
        *,
        sum(training_cost_usd) over (
            partition by provider, fine_tuned_model order by month) as training_cost_to_date_usd,
    from costed
)
select
    strftime(month, '%Y-%m') as month,
    provider,
    fine_tuned_model,
    base_model,
    calls,
    training_cost_usd,
    storage_cost_usd,
    coalesce(inference_cost_usd, 0)::decimal(38, 12) as inference_cost_usd,
    inference_list_cost_usd::decimal(38, 12) as inference_list_cost_usd,
    base_list_cost_usd::decimal(38, 12) as base_list_cost_usd,
    monthly_saving_usd,
    training_cost_to_date_usd::decimal(38, 12) as training_cost_to_date_usd,
    case when fine_tuned_model is not null and training_cost_to_date_usd > 0 and monthly_saving_usd > 0
         then round(training_cost_to_date_usd / monthly_saving_usd, 2)::double end as payback_months,
    case
        when fine_tuned_model is null then 'trained: no fine-tuned model of this base called this month'
        when training_cost_to_date_usd = 0 then 'no training cost billed in the data'
        when base_list_cost_usd is null or inference_list_cost_usd is null then 'not priced'
        when monthly_saving_usd <= 0 then 'costs more than the base model for the same tokens: a saving, if '
            || 'any, is in shorter prompts or the larger model it replaced, which the calls do not show'
    end as payback_note,
from to_date
