-- digest_unpriced_calls: one row: the audience's calls in the period with no list price (an endpoint's calls carry its
-- hourly cost, not a list price: not unpriced).
select count(*) as n from fct_llm_calls where day between $start and $end and not is_priced and endpoint is null and {audience}
