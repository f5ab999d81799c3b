-- int_call_model_aliases: one row per name calls were requested by (an Azure deployment, a proxy model group,
-- a Bedrock inference profile) that the day's own data resolves to the model that served them:
--   call — one call seen by two sources, one naming the response model and the other the requested name
--          (LiteLLM's "azure/triage-prod" and the same call's span with gen_ai.response.model);
--   bill — the provider's lines name the resource with the model they bill (stg_model_aliases).
-- A name the data ties to more than one model is left out: tokenbooks doctor names the config line instead.
with merged as (
    select provider, model, unnest(requested_models) as alias,
    from int_calls_merged
    where model_served and len(requested_models) > 0
),

from_calls as (
    select provider, alias, model, 'call' as evidence,
    from merged
    where alias <> model
),

from_bill as (
    select provider, alias, model, 'bill' as evidence,
    from stg_model_aliases
),

final as (
    select provider, alias, min(model) as model, string_agg(distinct evidence, ',' order by evidence) as evidence,
    from (select * from from_calls union all select * from from_bill)
    group by all
    having count(distinct model) = 1
)

select * from final
