-- list_cost_usd(...): what tokens cost at per-million-token list prices, exactly (DECIMAL, never a float).
-- Token counts follow the providers' billing: input includes cache reads and cache writes, cache writes include
-- the 1-hour ones, output includes reasoning. Each part is priced at its own rate.
create or replace temp macro list_cost_usd(
    input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
    p_input, p_cached, p_write_5m, p_write_1h, p_output
) as (
    (
        (input_tokens - cached_input_tokens - cache_write_tokens) * p_input
        + cached_input_tokens * p_cached
        + (cache_write_tokens - cache_write_1h_tokens) * p_write_5m
        + cache_write_1h_tokens * p_write_1h
        + output_tokens * p_output
    ) * 0.000001::decimal(7, 6)
)::decimal(38, 12);
