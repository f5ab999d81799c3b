-- digest_billed: one row, one value: what the providers billed in the period.
select coalesce(sum(billed_cost_usd), 0) from fct_reconciliation where day between $start and $end
