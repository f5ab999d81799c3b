-- mart_sessions: one row per day × app × session (the session id, else the trace id where a call has no session):
-- calls, agent steps, tokens, cost, duration, failed or retried calls, and a runaway flag.
-- steps is the deepest chain of parent_call_id links inside the session where sources log parents, else calls.
-- Runaway: more calls, or more cost, than median + k·MAD over the day's sessions of the same app and feature
-- (the feature of the session's first call; calls at the same microsecond are ordered by a fixed hash of their
-- call id, a 16-byte key where the call id itself would hold a string per session), the MAD taken as at least half
-- the median so a feature whose sessions are all alike does not flag its first slightly longer one; only where the
-- feature has 5 or more sessions that day. A ceiling configured for the feature (tokenbooks.yaml runaway.ceilings) flags on its own. See README.
with calls as not materialized (
    -- Only the columns used below, read from the file where used: a copy of a day's calls is gigabytes.
    select
        day, app, feature, call_id, parent_call_id, occurred_at, latency_ms, status, attempt, session_id,
        input_tokens, output_tokens, cost_usd,
        coalesce(session_id, trace_id) as session_key,
    from fct_llm_calls
    where coalesce(session_id, trace_id) is not null
),

rules as (
    select * from dim_runaway
),


sessions as (
    select
        day,
        app,
        session_key,
        -- 'session' when a call names it as its session (the key may be another call's trace id too)
        case when bool_or(session_id is not null) then 'session' else 'trace' end as session_kind,
        arg_min(feature, (epoch_us(occurred_at)::hugeint << 64) + hash(call_id)) as feature,
        count(*) as calls,
        count(parent_call_id) > 0 as has_parents,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd)::decimal(38, 12) as cost_usd,
        min(occurred_at) as started_at,
        max(occurred_at + to_milliseconds(coalesce(latency_ms, 0))) as ended_at,
        count(*) filter (where status in ('error', 'rate_limited', 'timeout') or attempt > 1) as failed_or_retried_calls,
    from calls
    group by day, app, session_key
),

linked as (
    -- The calls of sessions where some call names its parent: the only sessions whose steps are not their calls.
    select call_id, parent_call_id, session_key
    from calls
    semi join (select distinct session_key from sessions where has_parents) using (session_key)
),

steps as (
    -- Depth of each call in its session's parent chain; a call whose parent is not a call of the session is a root.
    -- Each call has one parent, so a cycle is never reached from a root: the recursion ends.
    with recursive tree as (
        select child.call_id, child.session_key, 1 as depth
        from linked as child
        left join linked as parent
            on parent.call_id = child.parent_call_id and parent.session_key = child.session_key
        where parent.call_id is null
        union all
        select child.call_id, child.session_key, tree.depth + 1
        from linked as child
        join tree on child.parent_call_id = tree.call_id and child.session_key = tree.session_key
    )
    select session_key, max(depth) as depth from tree group by session_key
),

feature_stats as (
    select
        day, app, feature,
        count(*) as feature_sessions,
        sum(cost_usd) as feature_cost_usd,
        median(calls) as median_calls,
        mad(calls) as mad_calls,
        median(cost_usd::double) as median_cost,
        mad(cost_usd::double) as mad_cost,
    from sessions
    group by all
),

thresholds as (
    select
        feature_stats.*,
        defaults.k,
        ceiling.max_calls,
        ceiling.max_cost_usd,
        case when feature_sessions >= 5
            then median_calls + defaults.k::double * greatest(mad_calls, median_calls / 2) end as threshold_calls,
        case when feature_sessions >= 5
            then median_cost + defaults.k::double * greatest(mad_cost, median_cost / 2) end as threshold_cost,
    from feature_stats
    cross join (select k from rules where feature is null) as defaults
    left join (select * from rules where feature is not null) as ceiling
        on ceiling.feature = feature_stats.feature
        and (ceiling.app is null or ceiling.app = feature_stats.app)
),

final as (
    select
        sessions.day,
        sessions.app,
        sessions.session_key,
        sessions.session_kind,
        sessions.feature,
        sessions.calls,
        case when sessions.has_parents then steps.depth else sessions.calls end as steps,
        sessions.input_tokens,
        sessions.output_tokens,
        sessions.cost_usd,
        (sessions.cost_usd / nullif(thresholds.feature_cost_usd, 0))::double as feature_cost_share,
        sessions.started_at,
        sessions.ended_at,
        (epoch_ms(sessions.ended_at) - epoch_ms(sessions.started_at))::bigint as duration_ms,
        sessions.failed_or_retried_calls,
        sessions.failed_or_retried_calls / sessions.calls as failed_or_retried_share,
        thresholds.threshold_calls,
        thresholds.threshold_cost::decimal(38, 12) as threshold_cost_usd,
        thresholds.max_calls as ceiling_calls,
        thresholds.max_cost_usd as ceiling_cost_usd,
        case
            when sessions.calls > thresholds.max_calls or sessions.cost_usd > thresholds.max_cost_usd then 'ceiling'
            when sessions.calls > thresholds.threshold_calls then 'calls'
            when sessions.cost_usd::double > thresholds.threshold_cost then 'cost'
        end as runaway_reason,
    from sessions
    left join steps using (session_key)
    join thresholds
        on thresholds.day = sessions.day
        and thresholds.app is not distinct from sessions.app
        and thresholds.feature is not distinct from sessions.feature
)

select *, runaway_reason is not null as is_runaway, from final
