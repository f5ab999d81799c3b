-- focus_splits: one row per billed line × attributed share (app, feature, tenant, prompt version, cache status),
-- plus the line's unattributed remainder, with the line's money and tokens split between them.
--
-- A line is split within its reconciliation group the way fct_llm_calls.attributed_cost_usd is: a share's part
-- is (group attributed / group billed) × (the share's part of the group's attributed cost), the list cost of its
-- calls at the day's prices. Shares are rounded to 12 decimals and the remainder is what they leave, so a line's
-- rows add up to the line exactly, in USD and as billed; on a line its calls explain whole, what rounding left
-- goes to the largest share instead of a remainder row of dust.
with lines as (
    select * from focus_lines
),

calls as (
    select * from fct_llm_calls
),

granularity as (
    select day, provider, model, bool_or(owner = '*') as by_model from fct_reconciliation group by all
),

groups as (
    select
        *,
        case when billed_cost_usd <> 0 then attributed_cost_usd / billed_cost_usd else 0 end as explained,
    from fct_reconciliation
),

call_shares as (
    select
        calls.day,
        calls.provider,
        calls.model,
        case when granularity.by_model then '*'
             else coalesce('project:' || calls.project_id, 'workspace:' || calls.workspace_id) end as group_owner,
        calls.app,
        calls.feature,
        calls.tenant_id,
        calls.prompt_version,
        calls.cache_status,
        count(*) as calls,
        sum(calls.attributed_cost_usd) as attributed_usd,
        coalesce(sum(calls.list_cost_usd), 0)::decimal(38, 12) as list_usd,
    from calls
    join granularity using (day, provider, model)
    where calls.attributed_cost_usd <> 0
    group by all
),

shares as (
    select
        s.*,
        (g.explained * s.attributed_usd
            / sum(s.attributed_usd) over (partition by s.day, s.provider, s.model, s.group_owner))::decimal(18, 15)
            as ratio,
    from call_shares as s
    join groups as g
        on g.day = s.day and g.provider = s.provider and g.model = s.model and g.owner = s.group_owner
    where g.explained <> 0
),

split as (
    select
        lines.*,
        'attributed' as attribution,
        shares.app,
        shares.feature,
        shares.tenant_id,
        shares.prompt_version,
        shares.cache_status,
        case when lines.carries_calls then shares.calls else 0 end as calls,
        shares.list_usd as share_list_usd,
        shares.ratio,
        (lines.billed_cost_usd * shares.ratio)::decimal(38, 12) as s_billed_usd,
        (lines.billed_amount * shares.ratio)::decimal(38, 12) as s_billed,
        (lines.list_usd * shares.ratio)::decimal(38, 12) as s_list_usd,
        (lines.contracted_usd * shares.ratio)::decimal(38, 12) as s_contracted_usd,
        (lines.tokens * shares.ratio)::decimal(38, 6) as s_tokens,
    from lines
    join shares
        on shares.day = lines.day
        and shares.provider = lines.provider
        and shares.model = lines.group_model
        and shares.group_owner = lines.group_owner
    union all by name
    select lines.*, 'unattributed' as attribution, 0::bigint as calls,
    from lines
),

remainders as (
    select
        *,
        coalesce(s_billed_usd, billed_cost_usd - coalesce(sum(s_billed_usd) over line, 0)) as r_billed_usd,
        coalesce(s_billed, billed_amount - coalesce(sum(s_billed) over line, 0)) as r_billed,
        coalesce(s_list_usd, list_usd - coalesce(sum(s_list_usd) over line, 0)) as r_list_usd,
        coalesce(s_contracted_usd, contracted_usd - coalesce(sum(s_contracted_usd) over line, 0)) as r_contracted_usd,
        coalesce(s_tokens, tokens - coalesce(sum(s_tokens) over line, 0)) as r_tokens,
        coalesce(ratio, 1 - coalesce(sum(ratio) over line, 0)) as r_ratio,
        count(*) over line as line_rows,
        count(ratio) over line > 0 and abs(1 - sum(ratio) over line) < 0.000000001 as whole,
        row_number() over (
            partition by line_key order by ratio desc nulls last, app, feature, tenant_id, prompt_version, cache_status
        ) = 1 as largest,
    from split
    window line as (partition by line_key)
),

settled as (
    select
        *,
        r_billed_usd + case when whole and largest
            then sum(r_billed_usd) filter (where attribution = 'unattributed') over line else 0 end as billed_usd_part,
        r_billed + case when whole and largest
            then sum(r_billed) filter (where attribution = 'unattributed') over line else 0 end as billed_part,
        r_list_usd + case when whole and largest
            then sum(r_list_usd) filter (where attribution = 'unattributed') over line else 0 end as list_usd_part,
        r_contracted_usd + case when whole and largest
            then sum(r_contracted_usd) filter (where attribution = 'unattributed') over line else 0 end as contracted_usd_part,
        r_tokens + case when whole and largest
            then sum(r_tokens) filter (where attribution = 'unattributed') over line else 0 end as tokens_part,
        r_ratio + case when whole and largest
            then sum(r_ratio) filter (where attribution = 'unattributed') over line else 0 end as ratio_part,
    from remainders
    window line as (partition by line_key)
),

-- A remainder of nothing is no row, unless it is the whole line (a line no call explains, a line of 0).
final as (
    select * from settled
    where attribution = 'attributed'
        or (not whole and (line_rows = 1 or billed_usd_part <> 0 or billed_part <> 0))
)

select * from final
