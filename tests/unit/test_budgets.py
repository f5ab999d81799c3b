"""Budget status: month-to-date spend, a weekday-aware forecast to month end, ok / at_risk / over."""

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from pipelines.monitoring.budgets import status_rows
from pipelines.monitoring.series import collect
from pipelines.settings import Budget, ConfigError, load_settings

WEEKDAY, WEEKEND = Decimal("10"), Decimal("4")  # per day, per feature


def points(first: date, last: date) -> pl.DataFrame:
    rows = []
    day = first
    while day <= last:
        cost = WEEKEND if day.weekday() >= 5 else WEEKDAY
        for app, feature, tenant in (("sales", "summarise", "t-1"), ("support", "triage", "t-2")):
            base = {"day": day, "provider": "openai", "model": "gpt-4.1", "prompt_version": None, "requests": 10,
                    "failed_requests": 0, "retried_requests": 0, "cache_hit_requests": 0, "input_tokens": 1000,
                    "output_tokens": 100, "cost_usd": cost, "unattributed_cost_usd": Decimal(0)}
            for scope, keys in (("total", {}), ("app", {"app": app}), ("feature", {"app": app, "feature": feature}),
                                ("tenant", {"tenant_id": tenant})):
                rows.append({**base, "scope": scope, "app": None, "feature": None, "tenant_id": None, **keys})
        day += timedelta(days=1)
    return pl.DataFrame(rows)


def status(budget: Budget, day: date, first: date = date(2026, 10, 1)) -> dict:
    p = points(first, day)
    h = collect(p, sorted(set(p["day"].to_list())))
    return status_rows(h, day, [budget])[0]


def test_month_to_date_and_weekday_aware_forecast():
    day = date(2026, 11, 18)  # a Wednesday; Nov has 12 more days: Thu..Mon (8 weekdays, 4 weekend days)
    row = status(Budget(name="org", limit_usd=Decimal("540")), day)
    weekdays_so_far = sum(1 for i in range(1, 19) if date(2026, 11, i).weekday() < 5)
    spent = 2 * (WEEKDAY * weekdays_so_far + WEEKEND * (18 - weekdays_so_far))
    assert row["spent_usd"] == spent
    assert row["forecast_method"] == "weekday_avg_28d"
    assert row["forecast_usd"] == spent + 2 * (8 * WEEKDAY + 4 * WEEKEND)
    assert row["period_start"] == date(2026, 11, 1) and row["period_end"] == date(2026, 11, 30)
    assert (spent, row["forecast_usd"]) == (300, 492)
    assert row["status"] == "at_risk"  # forecast 492 >= 0.9 × 540, spent 300 not over
    assert status(Budget(name="org", limit_usd=Decimal("600")), day)["status"] == "ok"
    assert status(Budget(name="org", limit_usd=Decimal("250")), day)["status"] == "over"


def test_scoped_budgets_and_daily_periods():
    day = date(2026, 11, 18)
    by_name = status(Budget(name="s", limit_usd=Decimal("300"), scope="feature", value="summarise"), day)
    by_path = status(Budget(name="s", limit_usd=Decimal("300"), scope="feature", value="sales/summarise"), day)
    assert by_name["spent_usd"] == by_path["spent_usd"] == status(
        Budget(name="s", limit_usd=Decimal("300"), scope="app", value="sales"), day)["spent_usd"]
    assert status(Budget(name="t", limit_usd=Decimal("300"), scope="tenant", value="t-2"), day)["spent_usd"] == \
        by_name["spent_usd"]
    daily = status(Budget(name="d", limit_usd=Decimal("15"), period="daily"), day)
    assert (daily["spent_usd"], daily["forecast_usd"], daily["forecast_method"]) == (2 * WEEKDAY, 2 * WEEKDAY, "actual")
    assert daily["status"] == "over"


def test_less_history_falls_back_to_simpler_forecasts():
    day = date(2026, 11, 18)
    seven = status(Budget(name="org", limit_usd=Decimal("1000")), day, first=day - timedelta(days=9))
    assert seven["forecast_method"] == "avg_7d"
    mean7 = sum((2 * (WEEKEND if (day - timedelta(days=i)).weekday() >= 5 else WEEKDAY) for i in range(7)), Decimal(0)) / 7
    assert seven["forecast_usd"] == (seven["spent_usd"] + mean7 * 12).quantize(Decimal("1e-12"))
    few = status(Budget(name="org", limit_usd=Decimal("1000")), day, first=day - timedelta(days=2))
    assert few["forecast_method"] == "period_avg"
    assert few["forecast_usd"] == (few["spent_usd"] + few["spent_usd"] / 3 * 12).quantize(Decimal("1e-12"))


def test_budgets_come_from_tokenbooks_yaml(tmp_path):
    (tmp_path / "tokenbooks.yaml").write_text(
        "budgets:\n"
        "  - {name: org, limit_usd: 5000}\n"
        "  - {name: summarise-daily, limit_usd: 40.5, period: daily, scope: feature, value: summarise, at_risk_pct: 0.8}\n"
    )
    budgets = load_settings(home=tmp_path).budgets
    assert budgets[1] == Budget("summarise-daily", Decimal("40.5"), "daily", "feature", "summarise", Decimal("0.8"))
    # A budget that cannot be right is refused where it is written: in tokenbooks.yaml, with the key's path.
    (tmp_path / "tokenbooks.yaml").write_text("budgets:\n  - {name: x, limit_usd: 1, scope: app}\n")
    with pytest.raises(ConfigError, match="budgets.0: a budget with scope app needs a value"):
        load_settings(home=tmp_path)
    (tmp_path / "tokenbooks.yaml").write_text("budgets:\n  - {name: x, limit_usd: 1, period: weekly}\n")
    with pytest.raises(ConfigError, match="budgets.0.period: Input should be 'monthly' or 'daily'"):
        load_settings(home=tmp_path)
