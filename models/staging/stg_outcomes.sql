-- stg_outcomes: one row per outcome event of the day (re-deliveries of the same outcome_id collapse).
with source as (
    select * from lake_outcomes
),

final as (
    select *
    from source
    qualify row_number() over (partition by outcome_id order by source_file, source_line) = 1
)

select * from final
