-- digest_headline: one row: the period's spend, the comparison days' sum, the same day last week, requests and the
-- unattributed spend, for the audience.
select
    coalesce(sum(cost_usd) filter (where day between $start and $end), 0) as total_usd,
    coalesce(sum(cost_usd) filter (where list_contains($cdays::date[], day)), 0) as previous_sum_usd,
    coalesce(sum(cost_usd) filter (where day = $end - 7), 0) as last_week_same_day_usd,
    coalesce(sum(requests) filter (where day between $start and $end), 0) as requests,
    coalesce(sum(cost_usd) filter (where day between $start and $end and feature = '(unattributed)'), 0)
        as unattributed_usd,
from mart_cost_daily
where (day between $start and $end or list_contains($cdays::date[], day) or day = $end - 7) and {audience}
