-- digest_drift: the period's drift events of every story that touches the audience's apps or features (whole stories).
with e as (select * from drift_events where day between $start and $end),
mine as (
    select distinct day, story_scope, story from e
    where $everyone or (scope in ('app', 'feature') and {audience})
)
select e.* from e join mine using (day, story_scope, story)
order by day, story, scope, subject, metric
