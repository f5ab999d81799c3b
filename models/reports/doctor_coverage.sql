-- doctor_coverage: one row per provider × model × owner: billed, attributed, unattributed, coverage and the largest gap's
-- reason; the largest gaps first.
select provider, model, owner, owner_app, sum(billed_cost_usd) as billed_usd,
       sum(attributed_cost_usd) as attributed_usd, sum(unattributed_cost_usd) as unattributed_usd,
       case when sum(billed_cost_usd) > 0 then sum(attributed_cost_usd) / sum(billed_cost_usd) end as coverage,
       arg_max(gap_reason, abs(unattributed_cost_usd)) as gap_reason,
from fct_reconciliation
where day between $start and $end
group by all
order by unattributed_usd desc, billed_usd desc
