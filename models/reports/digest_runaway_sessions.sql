-- digest_runaway_sessions: one row per runaway session of the period (mart_sessions.is_runaway), the costliest first, with how
-- many there were and what they cost in all.
select day, app, feature, session_key, session_kind, calls, steps, cost_usd, feature_cost_share,
       runaway_reason, count(*) over () as runaways, sum(cost_usd) over () as runaways_cost_usd,
from mart_sessions
where day between $start and $end and is_runaway and {audience}
order by cost_usd desc, day, session_key
limit $limit
