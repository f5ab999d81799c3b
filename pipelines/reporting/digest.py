"""The digest: what we spent, on what, whether it is drifting, what it costs per unit, what to do about it.

Daily (a day against the average day of its type, weekday or weekend, of the four weeks before) or weekly
(7 days against the 7 before), for everyone or for a recipient limited to some apps or features; see
``periods.py``. A period with no billed or logged data has no digest (:class:`NoData`). Numbers come from the
published warehouse, read-only; ``reports/digest.html.j2`` and ``reports/digest.txt.j2`` render them with
Jinja2 (HTML autoescaped: anything from the data shows as text).
"""

from __future__ import annotations

import base64
import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pipelines.db import open_warehouse
from pipelines.files import atomic_write
from pipelines.reporting.doctor import diagnose
from pipelines.reporting import chart, levers, periods, savings, sections, stories
from pipelines.reporting.periods import Audience, Comparison, Period
from pipelines.settings import REPORTS_DIR, Recipient, Settings

CENT = Decimal("0.01")


class NoData(LookupError):
    """The warehouse has no billed or logged data for the period: there is nothing to report."""


@dataclass
class Digest:
    period: Period
    audience: Audience
    comparison: Comparison
    total_usd: Decimal
    previous_usd: Decimal | None  # the comparison days at the period's length; None without any
    change_pct: float | None
    last_week_same_day_usd: Decimal
    requests: int
    unattributed_usd: Decimal
    billed_usd: Decimal | None = None  # the providers' bill (everyone's digest only: it is not per app)
    unpriced_calls: int = 0
    trend: list[dict[str, Any]] = field(default_factory=list)
    by_app: list[dict[str, Any]] = field(default_factory=list)
    by_feature: list[dict[str, Any]] = field(default_factory=list)
    by_tier: list[dict[str, Any]] = field(default_factory=list)
    by_model: list[dict[str, Any]] = field(default_factory=list)
    unit_economics: list[dict[str, Any]] = field(default_factory=list)
    drift: list[stories.Story] = field(default_factory=list)
    budgets: list[dict[str, Any]] = field(default_factory=list)
    unattributed: list[dict[str, Any]] = field(default_factory=list)
    always_on: list[dict[str, Any]] = field(default_factory=list)  # endpoints' idle cost and utilisation
    # What would attribute more of the bill (tokenbooks doctor, short form): the config lines to add.
    doctor: list[str] = field(default_factory=list)
    cache_savings_usd: Decimal = Decimal(0)
    batch_savings_usd: Decimal = Decimal(0)
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    output_ceilings: list[dict[str, Any]] = field(default_factory=list)
    runaways: list[dict[str, Any]] = field(default_factory=list)
    budget_line: chart.BudgetLine | None = None

    @property
    def day(self) -> date:
        return self.period.end

    @property
    def budgets_not_ok(self) -> list[dict[str, Any]]:
        return [b for b in self.budgets if b["status"] != "ok"]

    @property
    def subject(self) -> str:
        kind = "weekly LLM spend" if self.period.kind == "weekly" else "LLM spend"
        pct = "" if self.change_pct is None else f" ({signed_pct(self.change_pct)} {self.comparison.short})"
        extra = []
        new = [s for s in self.drift if s.is_new]
        if new:
            extra.append(f"{len(new)} new drift alert{'s' if len(new) > 1 else ''}")
        if self.budgets_not_ok:
            extra.append(f"{len(self.budgets_not_ok)} budget{'s' if len(self.budgets_not_ok) > 1 else ''} at risk")
        scope = f" · {self.audience.describe()}" if not self.audience.everyone else ""
        return (f"tokenbooks · {kind} {self.period.label}: {usd(self.total_usd)}{pct}"
                + "".join(f" · {e}" for e in extra) + scope)


def build_digest(con: duckdb.DuckDBPyConnection, day: date, weekly: bool = False,
                 audience: Audience | None = None, settings: Settings | None = None) -> Digest:
    period, audience = Period.of(day, weekly), audience or Audience()
    if not periods.data_days(con, period.start, period.end):
        last = periods.last_data_day(con)
        raise NoData(f"no billed or logged data for {period.label}: no digest"
                     + (f" (the last day with data is {last})" if last else " (the warehouse is empty)"))
    compare = periods.comparison(con, period)
    p = periods.params(period, audience, compare)
    head = sections.headline(con, p)
    return Digest(
        period=period,
        audience=audience,
        comparison=compare,
        total_usd=head["total_usd"],
        previous_usd=head["previous_usd"],
        change_pct=sections.pct(head["total_usd"], head["previous_usd"]),
        last_week_same_day_usd=head["last_week_same_day_usd"],
        requests=int(head["requests"]),
        unattributed_usd=head["unattributed_usd"],
        billed_usd=sections.billed(con, p) if audience.everyone else None,
        unpriced_calls=sections.unpriced_calls(con, p),
        trend=sections.trend(con, p, period),
        by_app=sections.breakdown(con, p, ["app"]),
        by_feature=sections.breakdown(con, p, ["app", "feature"]),
        by_tier=sections.breakdown(con, p, ["model_tier"]),
        by_model=sections.breakdown(con, p, ["provider", "model"], limit=8),
        unit_economics=sections.unit_economics(con, p),
        drift=stories.for_digest(sections.drift(con, p), period),
        budgets=sections.budgets(con, p),
        unattributed=sections.unattributed(con, p),
        always_on=sections.always_on(con, p),
        doctor=diagnose(con, p["start"], p["end"]).short() if audience.everyone else [],
        cache_savings_usd=savings.cache_savings(con, p),
        batch_savings_usd=savings.batch_savings(con, p, settings) if settings else Decimal(0),
        opportunities=savings.opportunities(con, p),
        output_ceilings=levers.output_ceilings(con, p),
        runaways=levers.runaway_sessions(con, p),
        budget_line=budget_line(settings, period, audience) if settings else None,
    )


def budget_line(settings: Settings, period: Period, audience: Audience) -> chart.BudgetLine | None:
    """The pace of the tightest budget that covers the whole audience, per day (per week in a weekly digest):
    the total budgets for everyone, the app's budgets for a recipient limited to one app."""
    if audience.everyone:
        mine = [b for b in settings.budgets if b.scope == "total"]
    elif len(audience.apps) == 1 and not audience.features:
        mine = [b for b in settings.budgets if b.scope == "app" and b.value == audience.apps[0]]
    else:
        mine = []
    month_days = calendar.monthrange(period.end.year, period.end.month)[1]
    paces = [(b.limit_usd / month_days if b.period == "monthly" else b.limit_usd, b.name) for b in mine]
    if not paces:
        return None
    per_day, name = min(paces)
    per_bar = per_day * (7 if period.kind == "weekly" else 1)
    return chart.BudgetLine(f"budget {name}: {usd(per_bar)}/{'week' if period.kind == 'weekly' else 'day'}", per_bar)


def signed_pct(v: float | None) -> str:
    """'+12.0 %' / '−19.1 %' (a real minus sign, as in the drift texts)."""
    return "n/a" if v is None else f"{v:+.1f} %".replace("-", "\u2212")


def usd(v: Any) -> str:
    return "$" + format(Decimal(v or 0).quantize(CENT), ",")


# Line breaks and other control characters in text from the data (a feature name, an owner, a budget name).
_CONTROL = re.compile(r"\r\n|[\x00-\x1f\x7f]")


def one_line(value: Any) -> Any:
    """Text from the data on one line, in both parts: a name cannot start a line of its own in the text part
    (faking a row or a header-like line). The templates' own markup (macros, already escaped) is left alone."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(" ", value)
    return value


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(REPORTS_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=one_line,  # every {{ … }} of both templates, before the HTML one escapes it
    )
    env.filters["usd"] = usd
    env.filters["pct"] = signed_pct
    env.filters["share"] = lambda v: "n/a" if v is None else f"{float(v) * 100:.0f} %"
    env.filters["count"] = lambda v: f"{int(v or 0):,}"
    env.filters["name"] = lambda v: "(none)" if v is None else v
    env.filters["first_upper"] = lambda v: v[:1].upper() + v[1:] if v else v
    return env


def render(digest: Digest, template: str = "digest.html.j2", chart_src: str | None = None) -> str:
    """``chart_src`` is where the HTML finds the spend chart: ``cid:trend`` in the e-mail, a data URI in the file."""
    return environment().get_template(template).render(d=digest, chart_src=chart_src)


def trend_png(digest: Digest) -> bytes:
    return chart.spend_png(digest.trend, weekly=digest.period.kind == "weekly", budget=digest.budget_line)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stem(day: date, weekly: bool = False, recipient: Recipient | None = None) -> str:
    base = f"digest-week-{day.isoformat()}" if weekly else f"digest-{day.isoformat()}"
    limited = recipient is not None and (recipient.apps or recipient.features)
    return f"{base}--{slug(recipient.address)}" if limited else base


def load_digest(settings: Settings, day: date, weekly: bool = False, recipient: Recipient | None = None) -> Digest:
    """The digest from the published warehouse; raises NoData for a period without data."""
    if not settings.warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}; run `tokenbooks build` first")
    audience = Audience(tuple(recipient.apps), tuple(recipient.features)) if recipient else Audience()
    con = open_warehouse(settings)  # its Parquet paths are relative to the home
    try:
        return build_digest(con, day, weekly, audience, settings)
    finally:
        con.close()


def write_files(settings: Settings, digest: Digest, name: str) -> tuple[Path, Path, str, str]:
    """outbox/<name>.html and .txt, each written whole or not at all; returns the paths and the texts."""
    settings.outbox.mkdir(parents=True, exist_ok=True)
    png = base64.b64encode(trend_png(digest)).decode("ascii")
    html, text = render(digest, chart_src=f"data:image/png;base64,{png}"), render(digest, "digest.txt.j2")
    paths = settings.outbox / f"{name}.html", settings.outbox / f"{name}.txt"
    for path, body in zip(paths, (html, text)):
        atomic_write(path, body.encode("utf-8"))
    return paths[0], paths[1], html, text
