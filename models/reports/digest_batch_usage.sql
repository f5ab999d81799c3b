-- digest_batch_usage: one row per day × provider × model: the audience's priced batch calls' tokens by kind and their list
-- cost (savings.py prices them at the standard rate).
select day, provider, model,
       sum(input_tokens - cached_input_tokens - cache_write_tokens) as uncached_input_tokens,
       sum(cached_input_tokens) as cached_input_tokens,
       sum(cache_write_tokens - cache_write_1h_tokens) as cache_write_5m_tokens,
       sum(cache_write_1h_tokens) as cache_write_1h_tokens,
       sum(output_tokens) as output_tokens,
       sum(list_cost_usd) as list_cost_usd,
from fct_llm_calls
where day between $start and $end and is_batch and is_priced
  and not response_cache_hit and status <> 'rate_limited' and {audience}
group by all
