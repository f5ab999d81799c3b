-- int_call_totals: the day's priced calls summed at the grain the reconciliation, endpoint and what-if models read:
-- one row per day × provider × model × owner × endpoint × app × feature × billed or not × priced or not × reads the
-- cache or not × hour (the hour only for an endpoint's calls, whose busiest hour sizes its capacity).
-- Sums of integers and DECIMALs are exact in any grouping, so these models add the same figures as from the calls
-- themselves; one narrow pass over the calls replaces four, and the day's priced calls are never held as a table
-- (int_calls_priced is a view: fct_llm_calls computes it as it writes).
-- materialized: table
select
    day,
    provider,
    model,
    recon_owner,
    endpoint,
    app,
    feature,
    is_unbilled,
    is_priced,
    cached_input_tokens > 0 as reads_cache,
    case when endpoint is not null then date_trunc('hour', occurred_at) end as hour,
    count(*) as calls,
    sum(input_tokens) as input_tokens,
    sum(cached_input_tokens) as cached_input_tokens,
    sum(cache_write_tokens) as cache_write_tokens,
    sum(cache_write_1h_tokens) as cache_write_1h_tokens,
    sum(output_tokens) as output_tokens,
    sum(list_cost_usd) as list_cost_usd,
from int_calls_priced
group by all
