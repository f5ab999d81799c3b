-- digest_output_ceilings: one row per app × feature: calls, uncapped share, output p95 (now and the comparison days'), the
-- cap asked for, truncations and what a cap at the feature's p99 would have saved.
with m as (
    select * from mart_output_ceilings
    where (day between $start and $end or list_contains($cdays::date[], day)) and {audience}
),
daily as (
    select day, app, feature, max(output_p95_tokens) as p95 from m group by all
),
before as (
    select app, feature, median(p95) as previous_p95_tokens
    from daily where list_contains($cdays::date[], day) group by all
),
now as (
    select app, feature,
           sum(calls) as calls,
           sum(uncapped_share * calls) / sum(calls) as uncapped_share,
           max(output_p95_tokens) as output_p95_tokens,
           max(cap_p50_tokens) as cap_p50_tokens,
           sum(truncated_calls) as truncated_calls,
           max(cap_p99_tokens) as cap_p99_tokens,
           coalesce(sum(whatif_cap_p99_saving_usd), 0) as saving_usd,
    from m where day between $start and $end group by all
)
select now.*, before.previous_p95_tokens
from now
left join before on before.app is not distinct from now.app and before.feature is not distinct from now.feature
order by saving_usd desc, calls desc
