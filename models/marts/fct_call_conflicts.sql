-- fct_call_conflicts: one row per landed call record whose call_id is repeated in the same log source (format) on
-- the day with different content. Which of them is right only the source can say: they are kept out of
-- int_calls_merged (never resolved by picking one) and reported by the no_anomalies check (severity warn) until the
-- source is fixed. Identical repeats (a line landed twice, a file delivered again) are one call, not a conflict.
-- Input: lake_calls, as landed (provenance aside, every column is the content compared).
with source as not materialized (
    select * from lake_calls
),

repeated as (
    -- Most call ids are seen once per source: only repeats are compared. Grouped by a 64-bit hash of the key
    -- first (cheap), then exactly over the few records whose hash repeats.
    select source_format, call_id
    from source
    semi join (select hash(source_format, call_id) as h from source group by h having count(*) > 1) as twice
        on hash(source.source_format, source.call_id) = twice.h
    group by all
    having count(*) > 1
),

candidates as (
    select
        *,
        row(*columns(lambda c: c not in ('source_file', 'source_line', 'source_version'))) as _content,
    from source semi join repeated using (source_format, call_id)
),

conflicting as (
    select source_format, call_id, count(*) as records,
    from candidates
    group by all
    having count(distinct _content) > 1
),

final as (
    select
        day,
        source_format,
        call_id,
        row_number() over (partition by source_format, call_id order by source_file, source_line) as copy,
        records,
        source_file,
        source_line,
        occurred_at,
        provider,
        model,
        input_tokens,
        cached_input_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        status,
    from candidates
    join conflicting using (source_format, call_id)
)

select * from final
