-- doctor_channels: one row per provider × model delivered by more than one channel: the channels (the one that stands
-- marked), the largest token difference and the days.
with per_channel as (
    select provider, model, channel, min(channel_rank) as channel_rank, bool_or(stands) as stands,
           max(abs(tokens_vs_standing)) as token_difference, count(distinct day) as days,
    from fct_usage_channels
    where day between $start and $end and channels > 1
    group by all
)
select provider, model,
       string_agg(channel || case when stands then ' (stands)' else '' end, ', ' order by channel_rank, channel)
           as channels,
       max(token_difference) as max_token_difference, max(days) as days,
from per_channel
group by all
order by provider, model
