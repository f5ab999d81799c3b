"""The digest's numbers, one query per section (``models/reports/digest_*.sql``), all over the published warehouse.

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
from pipelines.warehouse.models import code, query_sql

Q = Decimal("1e-12")

# A row is the audience's when the recipient is not limited, or its app or feature is one of theirs.
AUDIENCE = code(query_sql("audience")).strip()


def query(name: str) -> str:
    """A report's query (``models/reports/<name>.sql``), the audience predicate where it says ``{audience}``."""
    return query_sql(name).replace("{audience}", AUDIENCE)


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
    return rows(con, query("digest_headline"), p)[0]


def billed(con, p: dict[str, Any]) -> Decimal:
    return con.execute(query("digest_billed"), {"start": p["start"], "end": p["end"]}).fetchone()[0]


def unpriced_calls(con, p: dict[str, Any]) -> int:
    # an endpoint's calls carry its hourly cost, not a list price: not unpriced
    return rows(con, query("digest_unpriced_calls"), p)[0]["n"]


def trend(con, p: dict[str, Any], period: Period) -> list[dict[str, Any]]:
    """Spend per day of the last 14 days (daily digest) or per week of the last 8 (weekly), oldest first, with
    each app's part (``by_app``) for the stacked chart."""
    n, size = (14, 1) if period.kind == "daily" else (8, 7)
    found = rows(con, query("digest_trend"), {**p, "n": n, "size": size})
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


def breakdown(con, p: dict[str, Any], dims: list[str], limit: int = 12) -> list[dict[str, Any]]:
    # dims are code constants (column names), never data; null-safe join: a null app is a group too
    sql = query("digest_breakdown").format(
        dims=", ".join(dims),
        picked=", ".join(f"coalesce(now.{d}, before.{d}) as {d}" for d in dims),
        joined=" and ".join(f"now.{d} is not distinct from before.{d}" for d in dims),
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
    return rows(con, query("digest_unit_economics"), {**p, "limit": limit})


def drift(con, p: dict[str, Any]) -> list[dict[str, Any]]:
    """The period's drift findings, of every story that touches the audience's apps or features (whole
    stories: the model and organisation findings of a story about their feature come with it)."""
    return rows(con, query("digest_drift"), p)


def budgets(con, p: dict[str, Any]) -> list[dict[str, Any]]:
    return rows(con, query("digest_budgets"), p)


def unattributed(con, p: dict[str, Any], limit: int = 8) -> list[dict[str, Any]]:
    return rows(con, query("digest_unattributed"), {**p, "limit": limit})


def always_on(con, p: dict[str, Any]) -> list[dict[str, Any]]:
    """Always-on capacity (mart_endpoints) over the period, per endpoint: what it cost, how much of it sat idle, its
    utilisation (tokens served / capacity), cost per 1M tokens, days it served nothing. A limited recipient sees
    the endpoints whose idle cost their app owns (fct_reconciliation.owner_app)."""
    return rows(con, query("digest_always_on"), p)
