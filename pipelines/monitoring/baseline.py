"""A robust baseline for one daily series: weekday-adjusted median and MAD of the trailing 14 days.

Why this one: LLM spend has a strong weekly rhythm (weekends are quiet) and heavy-tailed days (a batch
backfill, an incident). A median ignores a few odd days where a mean would be dragged; the MAD (scaled by
1.4826 to read like a standard deviation) measures the series' own day-to-day noise, so a noisy tenant needs a
bigger move than a smooth total does. Seasonal series (spend) are divided by their day-type factor (the
median of weekdays, or of weekend days, over the trailing 28 days, against the median of all 28) before taking
the median, so a Saturday is compared with what weekend days usually are. The profile is weekday vs weekend (not per
weekday): with four weeks of history a per-weekday median rests on four noisy points and its errors showed
up as false alarms; weekday/weekend rests on 20 and 8. With fewer than two days of either kind, no profile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

MAD_SCALE = Decimal("1.4826")
MIN_SAME_TYPE = 4


@dataclass(frozen=True)
class Baseline:
    value: Decimal
    spread: Decimal  # 1.4826 × MAD, in the series' unit
    days: int  # days of history it rests on


def median(values: Iterable[Decimal]) -> Decimal:
    v = sorted(values)
    if not v:
        raise ValueError("median of nothing")
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def mad(values: list[Decimal], center: Decimal) -> Decimal:
    return median(abs(v - center) for v in values)


def weekday_factor(history: dict[date, Decimal], day: date, season_days: int = 28) -> Callable[[date], Decimal]:
    """day -> that day's level relative to the series' overall level (1 where the history cannot tell)."""
    window = {d: v for d, v in history.items() if day - timedelta(days=season_days) <= d < day}
    if not window:
        return lambda d: Decimal(1)
    overall = median(window.values())
    if overall <= 0:
        return lambda d: Decimal(1)
    for group, n_groups in ((lambda d: d.weekday() >= 5, 2),):
        groups: dict[object, list[Decimal]] = defaultdict(list)
        for d, v in window.items():
            groups[group(d)].append(v)
        if len(groups) == n_groups and all(len(g) >= 2 for g in groups.values()):
            factors = {k: median(vs) / overall for k, vs in groups.items()}
            return lambda d, group=group, factors=factors: factors[group(d)]
    return lambda d: Decimal(1)


def baseline(
    history: dict[date, Decimal],
    day: date,
    seasonal: bool = False,
    baseline_days: int = 14,
    min_days: int = 7,
    season_days: int = 28,
) -> Baseline | None:
    """The expected value of ``day`` from the days before it; None with fewer than ``min_days`` of history."""
    days = [day - timedelta(days=i) for i in range(1, baseline_days + 1)]
    points = [(d, history[d]) for d in days if history.get(d) is not None]
    if len(points) < min_days:
        return None
    weekend = day.weekday() >= 5
    same = [v for d, v in history.items() if day - timedelta(days=season_days) <= d < day and (d.weekday() >= 5) == weekend]
    if seasonal and len(same) < MIN_SAME_TYPE:
        return None
    factor = weekday_factor(history, day, season_days) if seasonal else (lambda d: Decimal(1))
    adjusted = [v / factor(d) for d, v in points if factor(d) > 0]
    if len(adjusted) < min_days:
        return None
    level = median(adjusted)
    today = factor(day)
    spread = MAD_SCALE * mad(adjusted, level) * today
    if seasonal:
        spread = max(spread, MAD_SCALE * mad(same, median(same)))
    return Baseline(value=level * today, spread=spread, days=len(adjusted))
