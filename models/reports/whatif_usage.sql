-- whatif_usage: one row per day: a feature's billed, priced calls and their tokens by kind (tokenbooks whatif).
select
    day,
    count(*) as requests,
    sum(input_tokens - cached_input_tokens - cache_write_tokens)::bigint as uncached_input_tokens,
    sum(cached_input_tokens)::bigint as cached_input_tokens,
    sum(cache_write_tokens - cache_write_1h_tokens)::bigint as cache_write_5m_tokens,
    sum(cache_write_1h_tokens)::bigint as cache_write_1h_tokens,
    sum(output_tokens)::bigint as output_tokens,
    -- with caching: calls that read no cache read the share of their input the day's cache hits read
    coalesce(round(
        sum(input_tokens - cached_input_tokens - cache_write_tokens) filter (where cached_input_tokens = 0)
        * sum(cached_input_tokens) / nullif(sum(input_tokens) filter (where cached_input_tokens > 0), 0)
    ), 0)::bigint as cacheable_tokens,
    sum(list_cost_usd) as list_cost_usd,
    sum(cost_usd) as cost_usd,
    string_agg(distinct provider || '/' || model, ', ') as models,
from fct_llm_calls
where feature = $feature
  and day between $start and $end
  and not response_cache_hit and status <> 'rate_limited' and is_priced
group by day
order by day
