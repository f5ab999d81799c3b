"""The digest's numbers, one query per section, all over the published warehouse.

Every query takes the period (``$start`` .. ``$end``), its comparison days (``$cdays``: the same day type in
the weeks before, or the week before; ``periods.py``) and the audience (a recipient limited to some apps or
features) as bound parameters; nothing from the data is ever formatted into SQL. Column names in
``breakdown`` are code constants.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from pipelines.reporting.periods import Period

Q = Decimal("1e-12")

# A row is the audience's when the recipient is not limited, or its app or feature is one of theirs.
AUDIENCE = """(
    $everyone
    or coalesce(list_contains($apps::varchar[], app), false)
    or coalesce(list_contains($features::varchar[], feature), false)
    or coalesce(list_contains($features::varchar[], app || '/' || feature), false)
)"""


def rows(con: duckdb.DuckDBPyConnection, sql: str, p: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in p.items() if f"${k}" in sql}
    cur = con.execute(sql, used)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def with_bars(items: list[dict[str, Any]], key: str = "cost_usd") -> list[dict[str, Any]]:
    """Each row's bar width: its share of the largest value, as a whole percentage (HTML table bars)."""
    top = max((abs(r[key] or 0) for r in items), default=0)
    for r in items:
        r["bar_pct"] = int(round(abs(r[key] or 0) / top * 100)) if top else 0
    return items


def scaled(previous_sum: Decimal, p: dict[str, Any]) -> Decimal | None:
    """The comparison days' spend at the period's length (a daily digest: their average); None without any."""
    if not p["cdays"]:
        return None
    return (Decimal(previous_sum) / p["divisor"]).quantize(Q)


def headline(con, p: dict[str, Any]) -> dict[str, Any]:
    head = _headline(con, p)
    head["previous_usd"] = scaled(head.pop("previous_sum_usd"), p)
    return head


def _headline(con, p: dict[str, Any]) -> dict[str, Any]:
    return rows(con, f"""
        select
            coalesce(sum(cost_usd) filter (where day between $start and $end), 0) as total_usd,
            coalesce(sum(cost_usd) filter (where list_contains($cdays::date[], day)), 0) as previous_sum_usd,
            coalesce(sum(cost_usd) filter (where day = $end - 7), 0) as last_week_same_day_usd,
            coalesce(sum(requests) filter (where day between $start and $end), 0) as requests,
            coalesce(sum(cost_usd) filter (where day between $start and $end and feature = '(unattributed)'), 0)
                as unattributed_usd,
        from mart_cost_daily
        where (day between $start and $end or list_contains($cdays::date[], day) or day = $end - 7) and {AUDIENCE}
    """, p)[0]


def billed(con, p: dict[str, Any]) -> Decimal:
    return con.execute(
        "select coalesce(sum(billed_cost_usd), 0) from fct_reconciliation where day between $start and $end",
        {"start": p["start"], "end": p["end"]},
    ).fetchone()[0]


def unpriced_calls(con, p: dict[str, Any]) -> int:
    # an endpoint's calls carry its hourly cost, not a list price: not unpriced
    return rows(con, f"select count(*) as n from fct_llm_calls where day between $start and $end and not is_priced "
                     f"and endpoint is null "
                     f"and {AUDIENCE}", p)[0]["n"]


def trend(con, p: dict[str, Any], period: Period) -> list[dict[str, Any]]:
    """Spend per day of the last 14 days (daily digest) or per week of the last 8 (weekly), oldest first, with
    each app's part (``by_app``) for the stacked chart."""
    n, size = (14, 1) if period.kind == "daily" else (8, 7)
    found = rows(con, f"""
        with buckets as (select unnest(range(0, $n))::integer as i),
        m as (
            select day, coalesce(app, '(no app)') as app, sum(cost_usd) as cost_usd from mart_cost_daily
            where day between $end - ($n * $size - 1)::integer and $end and {AUDIENCE} group by all
        )
        select $end - (i * $size + $size - 1) as label, m.app, coalesce(sum(m.cost_usd), 0) as cost_usd
        from buckets left join m on m.day between $end - (i * $size + $size - 1) and $end - i * $size
        group by all order by label, app
    """, {**p, "n": n, "size": size})
    out: dict[Any, dict[str, Any]] = {}
    for r in found:
        t = out.setdefault(r["label"], {"label": r["label"], "cost_usd": Decimal(0), "by_app": {}})
        t["cost_usd"] += r["cost_usd"]
        if r["app"] is not None:
            t["by_app"][r["app"]] = r["cost_usd"]
    found_days = list(out.values())
    while len(found_days) > 1 and not found_days[0]["by_app"]:
        found_days.pop(0)  # days before the warehouse's first are not days of zero spend
    return with_bars(found_days)


BREAKDOWN = """
    with base as (
        select * from mart_cost_daily where (day between $start and $end or list_contains($cdays::date[], day)) and {audience}
    ),
    now as (
        select {dims}, sum(cost_usd) as cost_usd, sum(requests) as requests
        from base where day between $start and $end group by all
    ),
    before as (
        select {dims}, sum(cost_usd) as previous_sum_usd
        from base where list_contains($cdays::date[], day) group by all
    )
    select {picked}, coalesce(now.cost_usd, 0) as cost_usd, coalesce(now.requests, 0) as requests,
           coalesce(before.previous_sum_usd, 0) as previous_sum_usd
    from now full outer join before on {joined}
    order by cost_usd desc nulls last, previous_sum_usd desc
    limit $limit
"""


def breakdown(con, p: dict[str, Any], dims: list[str], limit: int = 12) -> list[dict[str, Any]]:
    # dims are code constants (column names), never data; null-safe join: a null app is a group too
    sql = BREAKDOWN.format(
        dims=", ".join(dims),
        picked=", ".join(f"coalesce(now.{d}, before.{d}) as {d}" for d in dims),
        joined=" and ".join(f"now.{d} is not distinct from before.{d}" for d in dims),
        audience=AUDIENCE,
    )
    out = rows(con, sql, {**p, "limit": limit})
    for r in out:
        r["previous_usd"] = scaled(r.pop("previous_sum_usd"), p)
        r["change_pct"] = pct(r["cost_usd"], r["previous_usd"])
    return with_bars(out)


def pct(now, before) -> float | None:
    if not before:
        return None
    return float((Decimal(now) - Decimal(before)) / Decimal(before) * 100)


def unit_economics(con, p: dict[str, Any], limit: int = 10) -> list[dict[str, Any]]:
    return rows(con, f"""
        with calls as (
            select app, feature, sum(requests) as requests, sum(cost_usd) as cost_usd,
                   count(distinct user_id) filter (where requests > 0) as active_users,
                   sum(requests) filter (where cache_status in ('hit', 'response_cache')) as cache_hits,
            from mart_cost_daily
            where day between $start and $end and feature is distinct from '(unattributed)' and {AUDIENCE}
            group by all
        ),
        value as (
            select app, feature, sum(outcomes) as outcomes, sum(waste_usd) as waste_usd
            from mart_unit_economics where day between $start and $end group by all
        )
        select calls.app, calls.feature, calls.requests, calls.active_users, calls.cost_usd,
               calls.cost_usd * 1000 / nullif(calls.requests, 0) as cost_per_1k_requests_usd,
               calls.cost_usd / nullif(calls.active_users, 0) as cost_per_active_user_usd,
               coalesce(value.outcomes, 0) as outcomes,
               calls.cost_usd / nullif(value.outcomes, 0) as cost_per_outcome_usd,
               coalesce(calls.cache_hits, 0) / nullif(calls.requests, 0) as cache_hit_rate,
               coalesce(value.waste_usd, 0) as waste_usd,
        from calls
        left join value on value.app is not distinct from calls.app and value.feature is not distinct from calls.feature
        order by calls.cost_usd desc
        limit $limit
    """, {**p, "limit": limit})


def drift(con, p: dict[str, Any]) -> list[dict[str, Any]]:
    """The period's drift findings, of every story that touches the audience's apps or features (whole
    stories: the model and organisation findings of a story about their feature come with it)."""
    return rows(con, f"""
        with e as (select * from drift_events where day between $start and $end),
        mine as (
            select distinct day, story_scope, story from e
            where $everyone or (scope in ('app', 'feature') and {AUDIENCE})
        )
        select e.* from e join mine using (day, story_scope, story)
        order by day, story, scope, subject, metric
    """, p)


def budgets(con, p: dict[str, Any]) -> list[dict[str, Any]]:
    return rows(con, """
        select * from budget_status
        where day = $end
          and ($everyone
               or (scope = 'app' and coalesce(list_contains($apps::varchar[], value), false))
               or (scope = 'feature' and coalesce(list_contains($features::varchar[], value), false)))
        order by case status when 'over' then 0 when 'at_risk' then 1 else 2 end, forecast_pct_of_limit desc
    """, p)


def unattributed(con, p: dict[str, Any], limit: int = 8) -> list[dict[str, Any]]:
    return rows(con, """
        select unattributed_owner, owner_app, owner_team, provider, gap_reason,
               sum(unattributed_cost_usd) as unattributed_usd, sum(billed_cost_usd) as billed_usd,
        from fct_reconciliation
        where day between $start and $end and unattributed_cost_usd <> 0
          and ($everyone or coalesce(list_contains($apps::varchar[], owner_app), false))
        group by all
        having abs(sum(unattributed_cost_usd)) >= 0.005
        order by abs(sum(unattributed_cost_usd)) desc
        limit $limit
    """, {**p, "limit": limit})


def always_on(con, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Always-on capacity (mart_endpoints) over the period, per endpoint: what it cost, how much of it sat idle, its
    utilisation (tokens served / capacity), cost per 1M tokens, days it served nothing. A limited recipient sees
    the endpoints whose idle cost their app owns (fct_reconciliation.owner_app)."""
    return rows(con, """
        with owners as (
            select model as endpoint, any_value(owner_app) as app
            from fct_reconciliation
            where day between $start and $end and starts_with(unattributed_owner, 'endpoint:')
            group by all
        )
        select
            e.endpoint, any_value(e.endpoint_kind) as endpoint_kind, any_value(e.provider) as provider, owners.app,
            sum(e.cost_usd) as cost_usd, sum(e.idle_cost_usd) as idle_cost_usd,
            (sum(e.tokens_served) / nullif(sum(e.capacity_tokens), 0))::double as utilisation,
            (sum(e.cost_usd) * 1000000 / nullif(sum(e.tokens_served), 0))::decimal(38, 12) as cost_per_mtok_usd,
            count(*) filter (where e.tokens_served = 0 and e.cost_usd > 0) as idle_days,
        from mart_endpoints as e
        left join owners on owners.endpoint = e.endpoint
        where e.day between $start and $end
          and ($everyone or coalesce(list_contains($apps::varchar[], owners.app), false))
        group by e.endpoint, owners.app
        having sum(e.cost_usd) <> 0
        order by sum(e.idle_cost_usd) desc, e.endpoint
    """, p)
