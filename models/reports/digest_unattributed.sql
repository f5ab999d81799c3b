-- digest_unattributed: one row per bill owner × app × team × provider × gap reason: the period's unattributed
-- dollars (a cent or more), the largest first.
select unattributed_owner, owner_app, owner_team, provider, gap_reason,
       sum(unattributed_cost_usd) as unattributed_usd, sum(billed_cost_usd) as billed_usd,
from fct_reconciliation
where day between $start and $end and unattributed_cost_usd <> 0
  and ($everyone or coalesce(list_contains($apps::varchar[], owner_app), false))
group by all
having abs(sum(unattributed_cost_usd)) >= 0.005
order by abs(sum(unattributed_cost_usd)) desc
limit $limit
