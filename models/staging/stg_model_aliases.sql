-- stg_model_aliases: one row per name the providers' own data resolves to a model, for the day being built.
-- A billed resource named where a model is expected (a Bedrock application inference profile's ARN, in the
-- app's logs and the invocation logs) is the model its CUR lines bill it as (their usage type). A name that
-- the data ties to more than one model is left unresolved (tokenbooks doctor names the config line).
with lines as (
    select provider, resource_id, model from lake_provider_usage
    union all
    select provider, resource_id, model from lake_provider_costs
),

final as (
    select
        provider,
        lower(trim(resource_id)) as alias,
        min(model) as model,
    from lines
    where resource_id is not null and model is not null and lower(trim(resource_id)) <> model
    group by all
    having count(distinct model) = 1
)

select * from final
