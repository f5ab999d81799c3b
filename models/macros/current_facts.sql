-- delivered_facts(tbl): the rows of a landed provider usage or cost table in force in each channel (steps 0-2).
-- current_facts(tbl): of those, the rows that stand: each fact once, across channels (step 3).
--
-- 0. Models. A model the bill names by a resource (a Bedrock application inference profile's ARN) is
--    resolved to the model the provider's own lines say it is (stg_model_aliases).
-- 1. Deliveries. Within a channel, the newest complete delivery of a (day, provider, model) stands alone: it
--    replaces every other delivery of it, lines it no longer lists included (a revised bill that moves a line
--    to another project retires the old line). Partial deliveries (a page set cut short, an incremental
--    export, a piece of invocation logs) add up where no complete delivery covers the scope; a partial one
--    never overrides a complete one (an interrupted re-pull is not trusted over a whole page set).
-- 2. Versions. Of what is left, the newest version of each fact (line_key) stands.
-- 3. Channels. The same usage delivered through two channels (a provider's report and a billing export,
--    a CUR and the invocation logs) counts once: per (day, provider, model) the best-ranked channel that
--    delivered stands. The others stay visible in fct_usage_channels.
-- Rows landed before these columns existed count as partial deliveries of their own format's channel.
create or replace temp macro delivered_facts(tbl) as table
with resolved as (
    select source.* replace (coalesce(aliases.model, source.model) as model),
    from query_table(tbl) as source
    left join stg_model_aliases as aliases
        on aliases.provider = source.provider
        and aliases.alias = source.model
),

facts as (
    select
        * replace (
            coalesce(channel, source_format) as channel,
            coalesce(channel_rank, 2) as channel_rank,
            coalesce(delivery_id, source_file) as delivery_id,
            coalesce(delivery_complete, false) as delivery_complete
        ),
        coalesce(model, '') as scope_model,
    from resolved
),

complete_deliveries as (
    -- The newest complete delivery of each scope (version, then delivery id: one winner, deterministic).
    select
        channel, day, provider, scope_model,
        arg_max(delivery_id, (source_version, delivery_id)) as delivery_id,
    from facts
    where delivery_complete
    group by all
),

in_force as (
    select facts.*
    from facts
    left join complete_deliveries as complete using (channel, day, provider, scope_model)
    where complete.delivery_id is null or facts.delivery_id = complete.delivery_id
),

newest as (
    select *
    from in_force
    qualify source_version = max(source_version) over (partition by line_key)
),

final as (
    select * exclude (scope_model) from newest
)

select * from final;

create or replace temp macro current_facts(tbl) as table
select *
from delivered_facts(tbl)
qualify channel_rank = min(channel_rank) over (partition by day, provider, coalesce(model, ''));
