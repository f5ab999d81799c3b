-- int_reconciliation_granularity: one row per day × provider × model of the logged calls, saying whether every
-- call names its owner (project / workspace). Where all do, that day's bill for the model is reconciled and
-- spread per owner; otherwise per model (owner '*'). Read by int_reconciliation_groups and int_calls_attributed.
select day, provider, model, bool_and(recon_owner is not null) as owner_level
from int_call_totals
group by all
