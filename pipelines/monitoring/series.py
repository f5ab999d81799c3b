"""Daily series per subject (the organisation, each app, feature, model and tenant) from ``monitoring_points``.

A subject's day is an :class:`Agg`: calls, failures, retries, cache hits, tokens, spend with and without calls,
and the same per model (for the decomposition and the model mix); from the 'shape' rows, truncated calls and
sessions (features, apps and the organisation) and the output p95 (features). Prompt versions per feature and day are
kept apart, to name a new prompt when one coincides with a change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl

from pipelines.monitoring.decompose import Key


MOMENTS = ("requests_sq", "cost_sq", "cost_x_requests", "input_sq", "input_x_requests", "output_sq",
           "output_x_requests")


@dataclass(frozen=True)
class Subject:
    scope: str  # total | app | feature | model | tenant
    app: str | None = None
    feature: str | None = None
    provider: str | None = None
    model: str | None = None
    tenant_id: str | None = None

    @property
    def label(self) -> str:
        if self.scope == "total":
            return "all"
        if self.scope == "app":
            return self.app or "(no app)"
        if self.scope == "feature":
            return f"{self.app or '(no app)'}/{self.feature or '(no feature)'}"
        if self.scope == "model":
            return f"{self.provider}/{self.model}"
        return self.tenant_id or "(no tenant)"


@dataclass
class ModelDay:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)


@dataclass
class Agg:
    requests: int = 0
    failed: int = 0
    retried: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)  # spend of logged calls
    unattributed: Decimal = Decimal(0)  # spend no logged call explains
    models: dict[Key, ModelDay] = field(default_factory=dict)
    # The day's shape ('shape' rows): calls whose source says why they stopped, those cut by their cap, sessions
    # begun and their calls; the output p95 is a feature's own (a quantile does not add up over features).
    finished: int = 0
    truncated: int = 0
    sessions: int = 0
    session_calls: int = 0
    output_p95: int | None = None
    # Second moments over mart rows (≈ users): the day's own sampling error (statistics, not money).
    moments: dict[str, float] = field(default_factory=dict)

    @property
    def spend(self) -> Decimal:
        return self.cost + self.unattributed

    def add_shape(self, r: dict, own: bool) -> None:
        self.finished += r["finished_requests"] or 0
        self.truncated += r["truncated_requests"] or 0
        self.sessions += r["sessions"] or 0
        self.session_calls += r["session_calls"] or 0
        if own:
            self.output_p95 = r["output_p95_tokens"]

    def add(self, r: dict) -> None:
        self.requests += r["requests"]
        self.failed += r["failed_requests"]
        self.retried += r["retried_requests"]
        self.cache_hits += r["cache_hit_requests"]
        self.input_tokens += int(r["input_tokens"])
        self.output_tokens += int(r["output_tokens"])
        self.cost += r["cost_usd"]
        self.unattributed += r["unattributed_cost_usd"]
        for k in MOMENTS:
            self.moments[k] = self.moments.get(k, 0.0) + (r.get(k) or 0.0)
        m = self.models.setdefault((r["provider"], r["model"]), ModelDay())
        m.requests += r["requests"]
        m.input_tokens += int(r["input_tokens"])
        m.output_tokens += int(r["output_tokens"])
        m.cost += r["cost_usd"]


@dataclass
class History:
    days: list[date]  # every day in the window the warehouse has (a subject absent on one of them spent 0)
    series: dict[Subject, dict[date, Agg]]
    prompts: dict[tuple[str | None, str | None], dict[str, dict[date, int]]]

    def agg(self, subject: Subject, day: date) -> Agg | None:
        return self.series.get(subject, {}).get(day)


def collect(points: pl.DataFrame, days: list[date]) -> History:
    series: dict[Subject, dict[date, Agg]] = defaultdict(dict)
    prompts: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for r in points.iter_rows(named=True):
        scope, day = r["scope"], r["day"]
        if scope == "prompt":
            prompts[(r["app"], r["feature"])][r["prompt_version"]][day] += r["requests"]
            continue
        if scope == "shape":
            feature = Subject("feature", app=r["app"], feature=r["feature"])
            for s in (feature, Subject("app", app=r["app"]), Subject("total")):
                series[s].setdefault(day, Agg()).add_shape(r, own=s == feature)
            continue
        if scope == "total":
            subjects = [Subject("total"), Subject("model", provider=r["provider"], model=r["model"])]
        elif scope == "app":
            subjects = [Subject("app", app=r["app"])]
        elif scope == "feature":
            subjects = [Subject("feature", app=r["app"], feature=r["feature"])]
        else:
            subjects = [Subject("tenant", tenant_id=r["tenant_id"])]
        for s in subjects:
            series[s].setdefault(day, Agg()).add(r)
    return History(days=sorted(days), series=dict(series), prompts=prompts)
