"""The digest's numbers, one query per section, all over the published warehouse.

Every query takes the period (``$start`` .. ``$end``), the comparison period before it and the audience (a
recipient limited to some apps or features) as bound parameters; nothing from the data is ever formatted into
SQL. Column names in ``breakdown`` are code constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb

Q = Decimal("1e-12")

# A row is the audience's when the recipient is not limited, or its app or feature is one of theirs.
AUDIENCE = """(
    $everyone
    or coalesce(list_contains($apps::varchar[], app), false)
    or coalesce(list_contains($features::varchar[], feature), false)
    or coalesce(list_contains($features::varchar[], app || '/' || feature), false)
)"""


@dataclass(frozen=True)
class Audience:
    apps: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return not self.apps and not self.features

    def describe(self) -> str:
        parts = ([f"apps {', '.join(self.apps)}"] if self.apps else []) + (
            [f"features {', '.join(self.features)}"] if self.features else [])
        return " and ".join(parts)


@dataclass(frozen=True)
class Period:
    kind: str  # daily | weekly
    start: date
    end: date

    @classmethod
    def of(cls, day: date, weekly: bool = False) -> "Period":
        return cls("weekly", day - timedelta(days=6), day) if weekly else cls("daily", day, day)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return str(self.end) if self.kind == "daily" else f"{self.start} – {self.end}"

    @property
    def comparison(self) -> str:
        return "the previous 7 days' average" if self.kind == "daily" else "the week before"


def params(period: Period, audience: Audience, **extra: Any) -> dict[str, Any]:
    """The comparison window is the 7 days before the period, scaled to the period's length."""
    return {
        "start": period.start,
        "end": period.end,
        "cstart": period.start - timedelta(days=7),
        "cend": period.start - timedelta(days=1),
        "everyone": audience.everyone,
        "apps": list(audience.apps),
        "features": list(audience.features),
        **extra,
    }


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


def scaled(previous_sum: Decimal, p: dict[str, Any]) -> Decimal:
    """The comparison window's spend at the period's length (a daily digest compares with the 7 days' average)."""
    days = (p["end"] - p["start"]).days + 1
    return (Decimal(previous_sum) * days / 7).quantize(Q)


def headline(con, p: dict[str, Any]) -> dict[str, Any]:
    head = _headline(con, p)
    head["previous_usd"] = scaled(head.pop("previous_sum_usd"), p)
    return head


def _headline(con, p: dict[str, Any]) -> dict[str, Any]:
    return rows(con, f"""
        select
            coalesce(sum(cost_usd) filter (where day between $start and $end), 0) as total_usd,
            coalesce(sum(cost_usd) filter (where day between $cstart and $cend), 0) as previous_sum_usd,
            coalesce(sum(cost_usd) filter (where day = $end - 7), 0) as last_week_same_day_usd,
            coalesce(sum(requests) filter (where day between $start and $end), 0) as requests,
            coalesce(sum(cost_usd) filter (where day between $start and $end and feature = '(unattributed)'), 0)
                as unattributed_usd,
        from mart_cost_daily
        where day between $cstart and $end and {AUDIENCE}
    """, p)[0]


def billed(con, p: dict[str, Any]) -> Decimal:
    return con.execute(
        "select coalesce(sum(billed_cost_usd), 0) from fct_reconciliation where day between $start and $end",
        {"start": p["start"], "end": p["end"]},
    ).fetchone()[0]


def unpriced_calls(con, p: dict[str, Any]) -> int:
    return rows(con, f"select count(*) as n from fct_llm_calls where day between $start and $end and not is_priced "
                     f"and {AUDIENCE}", p)[0]["n"]


def trend(con, p: dict[str, Any], period: Period) -> list[dict[str, Any]]:
    """Spend of the last 14 days (daily digest) or the last 8 weeks (weekly), oldest first."""
    if period.kind == "daily":
        sql = f"""
            with m as (
                select day, sum(cost_usd) as cost_usd from mart_cost_daily
                where day between $end - 13 and $end and {AUDIENCE} group by day
            ),
            days as (select unnest(generate_series($end - 13, $end, interval 1 day))::date as day)
            select days.day as label, coalesce(m.cost_usd, 0) as cost_usd
            from days left join m using (day) order by days.day
        """
    else:
        sql = f"""
            with m as (
                select day, sum(cost_usd) as cost_usd from mart_cost_daily
                where day between $end - 55 and $end and {AUDIENCE} group by day
            ),
            weeks as (select unnest(range(0, 8)) as n)
            select $end - (7 * n + 6)::integer as label, coalesce(sum(m.cost_usd), 0) as cost_usd
            from weeks left join m on m.day between $end - (7 * n + 6)::integer and $end - (7 * n)::integer
            group by all order by label
        """
    return with_bars(rows(con, sql, p))


BREAKDOWN = """
    with base as (
        select * from mart_cost_daily where day between $cstart and $end and {audience}
    ),
    now as (
        select {dims}, sum(cost_usd) as cost_usd, sum(requests) as requests
        from base where day between $start and $end group by all
    ),
    before as (
        select {dims}, sum(cost_usd) as previous_sum_usd
        from base where day between $cstart and $cend group by all
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


def drift(con, p: dict[str, Any], period: Period, limit: int = 8) -> list[dict[str, Any]]:
    """The period's drift, one line per subject, largest money first; a parent whose driver is listed is left out."""
    found = rows(con, f"""
        select * from drift_events
        where day between $start and $end and ($daily or is_new)
          and ($everyone or (scope in ('app', 'feature') and {AUDIENCE})
               or coalesce(list_contains($features::varchar[], driver), false))
        order by is_new desc, case severity when 'high' then 0 when 'medium' then 1 else 2 end,
                 abs(effect_usd) desc, day desc
    """, {**p, "daily": period.kind == "daily"})
    shown, subjects = [], set()
    for e in found:
        key = (e["scope"], e["subject"])
        if key in subjects or (e["driver"] and ("feature", e["driver"]) in subjects):
            continue
        subjects.add(key)
        shown.append(e)
    shown.sort(key=lambda e: (e["scope"] != "feature", -abs(e["effect_usd"])))
    return shown[:limit]


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
