"""What a digest covers and what it is compared with: the period, the audience and the comparison days.

Spend has a weekly rhythm (the sample organisation's weekends run at 40 % of its weekdays), so a Saturday
compared with the previous 7 days' average always reads about −50 %: that is the rhythm, not a change. A daily
digest therefore compares the day with the days *of the same type* (weekday or weekend, UTC) in the four
weeks before it that have data, and says so; a weekly digest compares with the week before, which holds every
weekday once. Days before the warehouse's first day are not counted as zero spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

COMPARE_WEEKS = 4


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


def is_weekend(d: date) -> bool:
    return d.weekday() >= 5


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
    def day_type(self) -> str:
        return "weekend day" if is_weekend(self.end) else "weekday"


@dataclass(frozen=True)
class Comparison:
    """The days a period is compared with; ``complete`` is False when there are none (or a partial week)."""

    days: tuple[date, ...]
    label: str  # "the average weekday of the 4 weeks before (20 days)"
    short: str  # column header: "vs avg weekday"
    complete: bool
    divisor: int = 1  # the comparison days' sum / divisor reads at the period's length


def comparison(con: duckdb.DuckDBPyConnection, period: Period) -> Comparison:
    """The comparison days that have data (any billed or logged spend in the warehouse, whoever it is for)."""
    if period.kind == "weekly":
        wanted = [period.start - timedelta(days=i) for i in range(7, 0, -1)]
    else:
        weekend = is_weekend(period.end)
        wanted = [period.end - timedelta(days=i) for i in range(7 * COMPARE_WEEKS, 0, -1)]
        wanted = [d for d in wanted if is_weekend(d) == weekend]
    have = data_days(con, min(wanted), max(wanted))
    days = tuple(d for d in wanted if d in have)
    if period.kind == "weekly":
        full = len(days) == 7
        label = "the week before" if full else f"the week before (only {len(days)} of its 7 days have data)"
        return Comparison(days if full else (), label, "vs week before", full, 1)
    kind = period.day_type
    if not days:
        return Comparison((), f"no earlier {kind} to compare with", f"vs avg {kind}", False)
    return Comparison(days, f"the average {kind} of the {COMPARE_WEEKS} weeks before ({len(days)} with data)",
                      f"vs avg {kind}", True, len(days))


def data_days(con: duckdb.DuckDBPyConnection, start: date, end: date) -> set[date]:
    """Days in [start, end] with any logged call or billed line."""
    found = con.execute("""
        select distinct day from mart_cost_daily where day between $a and $b
        union select distinct day from fct_reconciliation where day between $a and $b and billed_cost_usd <> 0
    """, {"a": start, "b": end}).fetchall()
    return {d for (d,) in found}


def last_data_day(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.execute("""
        select max(day) from (select max(day) as day from mart_cost_daily
                              union all select max(day) from fct_reconciliation where billed_cost_usd <> 0)
    """).fetchone()[0]


def params(period: Period, audience: Audience, compare: Comparison, **extra: Any) -> dict[str, Any]:
    """Bound parameters for every section query: the period, its comparison days and the audience."""
    return {
        "start": period.start,
        "end": period.end,
        "cdays": list(compare.days),
        "divisor": compare.divisor,
        "everyone": audience.everyone,
        "apps": list(audience.apps),
        "features": list(audience.features),
        **extra,
    }
