-- monitoring_points: one row per day × scope × subject × provider × model (scope 'prompt': × prompt version),
-- the sums drift detection and budgets need from one day of mart_cost_daily. Small (no user grain), so eight
-- weeks of them are cheap to read back. Scope 'model' is the 'total' rows; spend no logged call explains is
-- kept apart (unattributed_cost_usd) because it has no calls, tokens or prompt. The *_sq and *_x_requests
-- sums (over mart rows, i.e. roughly over users) give the day's own sampling error of spend and per-call
-- means, so a day that one heavy user made unusual is not mistaken for drift.
-- Scope 'shape' (one row per day × app × feature, no model) holds what a sum per model cannot give: the output
-- p95 over the feature's calls (from fct_llm_calls, as mart_output_ceilings counts it: calls with output), calls
-- whose source says why they stopped and those cut by their cap (truncation rate), and the sessions that began
-- with the feature and their calls (mart_sessions: calls per session). Apps and the organisation sum the counts.
with costs as (
    select * from mart_cost_daily
),

shape_calls as (
    select
        day,
        app,
        feature,
        quantile_disc(output_tokens, 0.95) filter (where output_tokens > 0) as output_p95_tokens,
        count(finish_reason) as finished_requests,
        count(*) filter (where finish_reason = 'length') as truncated_requests,
    from fct_llm_calls
    group by all
),

shape_sessions as (
    select day, app, feature, count(*) as sessions, sum(calls) as session_calls,
    from mart_sessions
    group by all
),

shape as (
    select
        coalesce(c.day, s.day) as day,
        'shape' as scope,
        coalesce(c.app, s.app) as app,
        coalesce(c.feature, s.feature) as feature,
        c.output_p95_tokens::bigint as output_p95_tokens,
        coalesce(c.finished_requests, 0)::bigint as finished_requests,
        coalesce(c.truncated_requests, 0)::bigint as truncated_requests,
        coalesce(s.sessions, 0)::bigint as sessions,
        coalesce(s.session_calls, 0)::bigint as session_calls,
    from shape_calls as c
    full outer join shape_sessions as s
        on s.day = c.day and s.app is not distinct from c.app and s.feature is not distinct from c.feature
),

by_model as (
    select
        day,
        app,
        feature,
        tenant_id,
        provider,
        model,
        prompt_version,
        feature = '(unattributed)' and requests = 0 as is_unattributed,
        sum(requests) as requests,
        sum(failed_requests) as failed_requests,
        sum(retried_requests) as retried_requests,
        sum(requests) filter (where cache_status in ('hit', 'response_cache')) as cache_hit_requests,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd)::decimal(38, 12) as cost_usd,
        sum(requests::double * requests) as requests_sq,
        sum(cost_usd::double * cost_usd::double) as cost_sq,
        sum(cost_usd::double * requests) as cost_x_requests,
        sum(input_tokens::double * input_tokens::double) as input_sq,
        sum(input_tokens::double * requests) as input_x_requests,
        sum(output_tokens::double * output_tokens::double) as output_sq,
        sum(output_tokens::double * requests) as output_x_requests,
    from costs
    group by all
),

measures as (
    select
        *,
        case when is_unattributed then 0 else requests end as call_requests,
        case when is_unattributed then 0::decimal(38, 12) else cost_usd end as calls_cost_usd,
        case when is_unattributed then cost_usd else 0::decimal(38, 12) end as unattributed_cost_usd,
        case when is_unattributed then 0 else cost_sq end as calls_cost_sq,
    from by_model
),

scoped as (
    select 'total' as scope, null::varchar as app, null::varchar as feature, null::varchar as tenant_id,
           provider, model, null::varchar as prompt_version, measures.*
             exclude (app, feature, tenant_id, provider, model, prompt_version)
    from measures
    union all by name
    select 'app' as scope, app, null as feature, null as tenant_id, provider, model, null as prompt_version,
           measures.* exclude (app, feature, tenant_id, provider, model, prompt_version)
    from measures
    union all by name
    select 'feature' as scope, app, feature, null as tenant_id, provider, model, null as prompt_version,
           measures.* exclude (app, feature, tenant_id, provider, model, prompt_version)
    from measures
    where not is_unattributed
    union all by name
    select 'tenant' as scope, null as app, null as feature, tenant_id, provider, model, null as prompt_version,
           measures.* exclude (app, feature, tenant_id, provider, model, prompt_version)
    from measures
    where tenant_id is not null and not is_unattributed
    union all by name
    select 'prompt' as scope, app, feature, null as tenant_id, null as provider, null as model, prompt_version,
           measures.* exclude (app, feature, tenant_id, provider, model, prompt_version)
    from measures
    where prompt_version is not null and not is_unattributed
),

final as (
    select
        day,
        scope,
        app,
        feature,
        tenant_id,
        provider,
        model,
        prompt_version,
        sum(call_requests)::bigint as requests,
        sum(failed_requests)::bigint as failed_requests,
        sum(retried_requests)::bigint as retried_requests,
        coalesce(sum(cache_hit_requests), 0)::bigint as cache_hit_requests,
        sum(input_tokens)::hugeint as input_tokens,
        sum(output_tokens)::hugeint as output_tokens,
        sum(calls_cost_usd)::decimal(38, 12) as cost_usd,
        sum(unattributed_cost_usd)::decimal(38, 12) as unattributed_cost_usd,
        sum(requests_sq) as requests_sq,
        sum(calls_cost_sq) as cost_sq,
        sum(cost_x_requests) as cost_x_requests,
        sum(input_sq) as input_sq,
        sum(input_x_requests) as input_x_requests,
        sum(output_sq) as output_sq,
        sum(output_x_requests) as output_x_requests,
    from scoped
    group by all
)

select * from final
union all by name
select * from shape
