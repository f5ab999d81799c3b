-- digest_breakdown: one row per group of the chosen columns (dims: code constants, never data): the period's spend and
-- requests against the comparison days' sum, the costliest first.
with base as (
    select * from mart_cost_daily where (day between $start and $end or list_contains($cdays::date[], day)) and {audience}
),
now as (
    select {dims}, sum(cost_usd) as cost_usd, sum(requests) as requests
    from base where day between $start and $end group by all
),
before as (
    select {dims}, sum(cost_usd) as previous_sum_usd
    from base where list_contains($cdays::date[], day) group by all
)
select {picked}, coalesce(now.cost_usd, 0) as cost_usd, coalesce(now.requests, 0) as requests,
       coalesce(before.previous_sum_usd, 0) as previous_sum_usd
from now full outer join before on {joined}
order by cost_usd desc nulls last, previous_sum_usd desc
limit $limit
