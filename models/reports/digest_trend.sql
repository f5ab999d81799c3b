-- digest_trend: one row per bucket (a day, or a week of a weekly digest) × app of the last n buckets, oldest first.
with buckets as (select unnest(range(0, $n))::integer as i),
m as (
    select day, coalesce(app, '(no app)') as app, sum(cost_usd) as cost_usd from mart_cost_daily
    where day between $end - ($n * $size - 1)::integer and $end and {audience} group by all
)
select $end - (i * $size + $size - 1) as label, m.app, coalesce(sum(m.cost_usd), 0) as cost_usd
from buckets left join m on m.day between $end - (i * $size + $size - 1) and $end - i * $size
group by all order by label, app
