-- digest_cache_savings: one row, one value: what prompt and response caching saved the audience in the period.
select coalesce(sum(cache_savings_usd), 0) as saved from mart_unit_economics
where day between $start and $end and {audience}
