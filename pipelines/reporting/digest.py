"""The daily digest: what we spent yesterday, on what, against the previous week.

Numbers come from the published warehouse (read-only); ``reports/digest.html.j2``
renders them with Jinja2 autoescaping, so anything from the data is shown as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.settings import REPORTS_DIR, Settings

CENT = Decimal("0.01")


@dataclass
class Digest:
    day: date
    total_usd: Decimal
    previous_avg_usd: Decimal
    change_pct: float | None
    billed_usd: Decimal
    unattributed_usd: Decimal
    by_app: list[dict[str, Any]] = field(default_factory=list)
    by_feature: list[dict[str, Any]] = field(default_factory=list)
    by_model: list[dict[str, Any]] = field(default_factory=list)
    unpriced_calls: int = 0


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


BREAKDOWN = """
    with today as (
        select {dim}, sum(cost_usd) as cost_usd, sum(requests) as requests
        from mart_cost_daily where day = $day group by all
    ),
    before as (
        select {dim}, sum(cost_usd) / 7 as avg_cost_usd
        from mart_cost_daily where day between $day - 7 and $day - 1 group by all
    )
    select {dim_sel}, coalesce(today.cost_usd, 0) as cost_usd, coalesce(today.requests, 0) as requests,
           coalesce(before.avg_cost_usd, 0) as previous_avg_usd
    from today full outer join before using ({using})
    order by cost_usd desc nulls last
    limit $limit
"""


def breakdown(con, day: date, dims: list[str], limit: int = 15) -> list[dict[str, Any]]:
    # dims are code constants (column names), never data
    sql = BREAKDOWN.format(dim=", ".join(dims), dim_sel=", ".join(dims), using=", ".join(dims))
    rows = _rows(con, sql, {"day": day, "limit": limit})
    for r in rows:
        r["change_pct"] = _pct(r["cost_usd"], r["previous_avg_usd"])
    return rows


def build_digest(con: duckdb.DuckDBPyConnection, day: date) -> Digest:
    total = con.execute("select coalesce(sum(cost_usd), 0) from mart_cost_daily where day = $day", {"day": day}).fetchone()[0]
    prev = con.execute(
        "select coalesce(sum(cost_usd), 0) / 7 from mart_cost_daily where day between $day - 7 and $day - 1",
        {"day": day},
    ).fetchone()[0]
    billed, unattributed = con.execute(
        "select coalesce(sum(billed_cost_usd), 0), coalesce(sum(unattributed_cost_usd), 0) "
        "from fct_reconciliation where day = $day",
        {"day": day},
    ).fetchone()
    unpriced = con.execute(
        "select count(*) from fct_llm_calls where day = $day and not is_priced", {"day": day}
    ).fetchone()[0]
    return Digest(
        day=day,
        total_usd=Decimal(total),
        previous_avg_usd=Decimal(prev),
        change_pct=_pct(total, prev),
        billed_usd=Decimal(billed),
        unattributed_usd=Decimal(unattributed),
        by_app=breakdown(con, day, ["app"]),
        by_feature=breakdown(con, day, ["app", "feature"]),
        by_model=breakdown(con, day, ["provider", "model", "model_tier"]),
        unpriced_calls=unpriced,
    )


def _pct(now, before) -> float | None:
    if not before:
        return None
    return float((Decimal(now) - Decimal(before)) / Decimal(before) * 100)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(REPORTS_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["usd"] = lambda v: "$" + format(Decimal(v or 0).quantize(CENT), ",")
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:+.1f} %"
    return env


def render(digest: Digest, template: str = "digest.html.j2") -> str:
    return environment().get_template(template).render(d=digest)


def write_digest(settings: Settings, day: date) -> Path:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        digest = build_digest(con, day)
    finally:
        con.close()
    settings.outbox.mkdir(parents=True, exist_ok=True)
    target = settings.outbox / f"digest-{day.isoformat()}.html"
    target.write_text(render(digest), encoding="utf-8")
    (settings.outbox / f"digest-{day.isoformat()}.txt").write_text(render(digest, "digest.txt.j2"), encoding="utf-8")
    return target


def yesterday_of(day: date) -> date:
    return day - timedelta(days=1)
