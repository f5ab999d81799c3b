-- fct_usage_channels: one row per day × provider × model × channel that delivered usage for it, with the
-- tokens that channel reports and whether it is the one that stands in fct_provider_usage (the best-ranked
-- channel; see models/macros/current_facts.sql). Where two channels disagree, the difference is here.
with delivered as (
    select * from delivered_facts(lake_provider_usage)
),

per_channel as (
    select
        day,
        provider,
        model,
        channel,
        min(channel_rank) as channel_rank,
        count(*) as usage_lines,
        sum(input_tokens)::bigint as input_tokens,
        sum(cached_input_tokens)::bigint as cached_input_tokens,
        sum(cache_write_tokens)::bigint as cache_write_tokens,
        sum(output_tokens)::bigint as output_tokens,
        sum(reasoning_tokens)::bigint as reasoning_tokens,
        sum(requests)::bigint as requests,
        string_agg(distinct source_format, ', ' order by source_format) as source_formats,
    from delivered
    group by all
),

ranked as (
    select *, min(channel_rank) over (partition by day, provider, model) as standing_rank,
    from per_channel
),

final as (
    select
        * exclude (standing_rank),
        channel_rank = standing_rank as stands,
        count(*) over (partition by day, provider, model) as channels,
        -- Tokens (input + output) beyond those of the channel that stands: 0 where the channels agree.
        (input_tokens + output_tokens) - max(case when channel_rank = standing_rank then input_tokens + output_tokens end)
            over (partition by day, provider, model) as tokens_vs_standing,
    from ranked
)

select * from final
