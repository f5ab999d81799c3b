-- digest_opportunities: one row per app × feature × what-if scenario that would save money: features mostly on
-- frontier-tier models re-priced on another model, and any feature through the batch API; the largest first.
with tiers as (
    select app, feature,
           coalesce(sum(cost_usd) filter (where model_tier = 'frontier'), 0) / nullif(sum(cost_usd), 0)
               as frontier_share,
           string_agg(distinct provider || '/' || model, ', ' order by provider || '/' || model) as models,
    from mart_cost_daily
    where day between $start and $end and requests > 0 and {audience}
    group by all
),
whatif as (
    select app, feature, scenario, sum(requests) as requests,
           sum(current_list_cost_usd) as current_usd, sum(whatif_cost_usd) as whatif_usd,
           sum(saving_usd) as saving_usd,
    from mart_whatif
    where day between $start and $end and {audience}
    group by all
)
select whatif.*, tiers.models, tiers.frontier_share
from whatif
join tiers on tiers.app is not distinct from whatif.app and tiers.feature is not distinct from whatif.feature
where whatif.saving_usd > 0 and (whatif.scenario = 'batch' or tiers.frontier_share >= 0.5)
order by whatif.saving_usd desc
