-- doctor_unowned: one row per provider × bill owner no app is linked to, with its unattributed dollars (a cent or more).
select provider, unattributed_owner as owner, string_agg(distinct gap_reason, ', ' order by gap_reason) as reasons,
       sum(unattributed_cost_usd) as unattributed_usd,
from fct_reconciliation
where day between $start and $end and owner_app is null and unattributed_cost_usd > 0
group by all
having sum(unattributed_cost_usd) >= 0.005
order by unattributed_usd desc
