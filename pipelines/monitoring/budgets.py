"""Budget status for one day: spend so far in the period, a forecast to its end, ok / at_risk / over.

Forecast of a monthly budget (the method is stated in each row):

- ``weekday_avg_28d`` (>= 21 of the last 28 days in the warehouse): spent so far + each remaining day of the
  month at the mean spend of its weekday over the last 28 days — quiet weekends are not forecast as weekdays;
- ``avg_7d`` (>= 7 days): spent + the mean of the last 7 days × the remaining days;
- ``period_avg`` (less history): spent / days elapsed × the month's days.

A daily budget's day is over when the nightly run sees it: its forecast is what was spent (``actual``).
Status: ``over`` when spent > limit, else ``at_risk`` when forecast >= at_risk_pct × limit, else ``ok``.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pipelines.monitoring.series import History, Subject
from pipelines.settings import Budget, ConfigError

ZERO = Decimal(0)


def spend(h: History, budget: Budget, day: date) -> Decimal:
    if budget.scope == "total":
        agg = h.agg(Subject("total"), day)
        return agg.spend if agg else ZERO
    total = ZERO
    for subject, by_day in h.series.items():
        if subject.scope == budget.scope and _matches(budget, subject) and day in by_day:
            total += by_day[day].spend
    return total


def _matches(budget: Budget, s: Subject) -> bool:
    value = str(budget.value) if budget.value is not None else None
    if budget.scope == "app":
        return s.app == value
    if budget.scope == "feature":
        return value in (s.feature, f"{s.app}/{s.feature}")
    return s.tenant_id == value


def forecast(h: History, budget: Budget, day: date, start: date, end: date, spent: Decimal) -> tuple[Decimal, str]:
    remaining = [day + timedelta(days=i) for i in range(1, (end - day).days + 1)]
    if not remaining:
        return spent, "actual"
    known = set(h.days)
    last28 = [day - timedelta(days=i) for i in range(28) if day - timedelta(days=i) in known]
    if len(last28) >= 21:
        by_weekday: dict[int, list[Decimal]] = {}
        for d in last28:
            by_weekday.setdefault(d.weekday(), []).append(spend(h, budget, d))
        if all(r.weekday() in by_weekday for r in remaining):
            means = {w: sum(v, ZERO) / len(v) for w, v in by_weekday.items()}
            return spent + sum((means[r.weekday()] for r in remaining), ZERO), "weekday_avg_28d"
    last7 = [d for d in last28 if d > day - timedelta(days=7)]
    if len(last7) >= 7:
        mean = sum((spend(h, budget, d) for d in last7), ZERO) / 7
        return spent + mean * len(remaining), "avg_7d"
    elapsed = [d for d in known if start <= d <= day]
    per_day = spent / len(elapsed) if elapsed else ZERO
    return spent + per_day * len(remaining), "period_avg"


def status_rows(h: History, day: date, budgets: list[Budget]) -> list[dict[str, Any]]:
    rows = []
    for b in budgets:
        if b.period not in ("monthly", "daily") or b.scope not in ("total", "app", "feature", "tenant"):
            raise ConfigError(f"budget {b.name!r}: period must be monthly or daily and scope total, app, feature or tenant")
        if b.scope != "total" and b.value is None:
            raise ConfigError(f"budget {b.name!r}: a {b.scope} budget needs a value (which {b.scope})")
        if b.period == "daily":
            start = end = day
        else:
            start, end = day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
        spent = sum((spend(h, b, start + timedelta(days=i)) for i in range((day - start).days + 1)), ZERO)
        expected, method = forecast(h, b, day, start, end, spent)
        if spent > b.limit_usd:
            status = "over"
        elif expected >= b.at_risk_pct * b.limit_usd:
            status = "at_risk"
        else:
            status = "ok"
        rows.append({
            "day": day,
            "budget": b.name,
            "scope": b.scope,
            "value": None if b.value is None else str(b.value),
            "period": b.period,
            "period_start": start,
            "period_end": end,
            "spent_usd": spent.quantize(Decimal("1e-12")),
            "limit_usd": b.limit_usd,
            "forecast_usd": expected.quantize(Decimal("1e-12")),
            "forecast_method": method,
            "pct_of_limit": float(spent / b.limit_usd * 100) if b.limit_usd else None,
            "forecast_pct_of_limit": float(expected / b.limit_usd * 100) if b.limit_usd else None,
            "status": status,
        })
    return rows
