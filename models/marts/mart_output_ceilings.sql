-- mart_output_ceilings: one row per day × app × feature × model: how long outputs run against the cap the calls
-- asked for, how often the cap cut them (finish_reason = length), and what capping at the feature's own p99 would
-- have saved on the day's calls (a what-if at list output prices; whether the shorter answers would still do is
-- not assessed). Output quantiles are over the calls that produced output (discrete: each is a real call's count).
with calls as not materialized (
    select * from fct_llm_calls
),

prices as (
    select * from dim_prices
),

priced as not materialized (
    -- The rate each call's output was listed at (long-context tier included, chosen as int_calls_priced does: the
    -- published calls do not carry their rates); unbilled calls produced none.
    select
        calls.*,
        case when calls.is_long_context then prices.lc_output_usd_per_mtok else prices.output_usd_per_mtok end
            as output_usd_per_mtok,
    from calls
    left join prices
        on prices.provider = calls.provider
        and prices.model = calls.model
        and prices.day = calls.day
        and prices.is_batch = calls.is_batch
),

feature_caps as (
    -- "Cap at the feature's p99": the p99 over the feature's calls of the day, all models together.
    select day, app, feature, quantile_disc(output_tokens, 0.99) as cap_p99_tokens,
    from priced
    where output_tokens > 0
    group by all
),

row_p95 as (
    select day, app, feature, model, quantile_disc(output_tokens, 0.95) as output_p95_tokens,
    from priced
    where output_tokens > 0
    group by all
),

excess as (
    select
        priced.*,
        greatest(priced.output_tokens - row_p95.output_p95_tokens, 0) as tokens_above_p95,
        feature_caps.cap_p99_tokens,
        greatest(priced.output_tokens - feature_caps.cap_p99_tokens, 0) as tokens_above_cap,
    from priced
    left join row_p95
        on row_p95.day = priced.day and row_p95.model = priced.model
        and row_p95.app is not distinct from priced.app and row_p95.feature is not distinct from priced.feature
    left join feature_caps
        on feature_caps.day = priced.day
        and feature_caps.app is not distinct from priced.app and feature_caps.feature is not distinct from priced.feature
),

final as (
    select
        day,
        app,
        feature,
        model,
        count(*) as calls,
        count(*) filter (where max_output_tokens is null) / count(*) as uncapped_share,
        quantile_disc(output_tokens, 0.5) filter (where output_tokens > 0) as output_p50_tokens,
        quantile_disc(output_tokens, 0.95) filter (where output_tokens > 0) as output_p95_tokens,
        quantile_disc(output_tokens, 0.99) filter (where output_tokens > 0) as output_p99_tokens,
        max(output_tokens) as output_max_tokens,
        quantile_disc(max_output_tokens, 0.5) as cap_p50_tokens,
        count(*) filter (where finish_reason = 'length') as truncated_calls,
        -- Of the calls whose source says why they stopped: a source that does not say does not dilute it.
        count(*) filter (where finish_reason = 'length') / nullif(count(finish_reason), 0) as truncated_share,
        sum(tokens_above_p95) as output_tokens_above_p95,
        -- list_cost_usd of output tokens alone: every other part is 0
        sum(list_cost_usd(0, 0, 0, 0, tokens_above_p95, 0, 0, 0, 0, output_usd_per_mtok))
            ::decimal(38, 12) as output_above_p95_cost_usd,
        any_value(cap_p99_tokens) as cap_p99_tokens,
        sum(tokens_above_cap) as whatif_cap_p99_tokens_saved,
        sum(list_cost_usd(0, 0, 0, 0, tokens_above_cap, 0, 0, 0, 0, output_usd_per_mtok))
            ::decimal(38, 12) as whatif_cap_p99_saving_usd,
    from excess
    group by all
)

select * from final
