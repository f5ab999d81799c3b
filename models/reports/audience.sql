-- audience: the predicate a report's query puts where it says {audience}: a row is the audience's when the
-- recipient is not limited (everyone), or its app or feature is one of theirs (apps, features: bound lists).
(
    $everyone
    or coalesce(list_contains($apps::varchar[], app), false)
    or coalesce(list_contains($features::varchar[], feature), false)
    or coalesce(list_contains($features::varchar[], app || '/' || feature), false)
)
