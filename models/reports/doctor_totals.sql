-- doctor_totals: one row: billed, attributed and unattributed dollars of the days.
select coalesce(sum(billed_cost_usd), 0) as billed_usd, coalesce(sum(attributed_cost_usd), 0) as attributed_usd,
       coalesce(sum(unattributed_cost_usd), 0) as unattributed_usd
from fct_reconciliation where day between $start and $end
