"""The metrics drift watches, per scope: their value on a day, their history, how unusual a move is and what
it costs.

Relative metrics (spend, per-call cost and tokens) must move by a fraction of their baseline; share metrics
by a number of points. A day's own sampling error (over users, cluster-robust) widens the band on small days,
so a quiet weekend needs a bigger move than a busy weekday.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pipelines.monitoring.baseline import Baseline, baseline
from pipelines.monitoring.drift_config import DriftConfig
from pipelines.monitoring.explain import SpendChange
from pipelines.monitoring.series import Agg, History, Subject


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # usd | tokens | share | calls
    kind: str  # relative: min_change is a fraction of the baseline; points: an absolute change of a share
    min_change: Decimal
    seasonal: bool = False


METRICS = {
    m.name: m
    for m in (
        Metric("cost_usd", "usd", "relative", Decimal("0.20"), seasonal=True),
        Metric("cost_per_request_usd", "usd", "relative", Decimal("0.15")),
        Metric("input_tokens_per_request", "tokens", "relative", Decimal("0.15")),
        Metric("output_tokens_per_request", "tokens", "relative", Decimal("0.20")),
        Metric("cache_hit_rate", "share", "points", Decimal("0.10"), seasonal=True),
        Metric("error_rate", "share", "points", Decimal("0.03"), seasonal=True),
        Metric("retry_rate", "share", "points", Decimal("0.03"), seasonal=True),
        Metric("unattributed_share", "share", "points", Decimal("0.05"), seasonal=True),
        Metric("model_mix", "share", "points", Decimal("0.20")),
        # The tail of a feature's outputs (no cap, or a prompt that writes more): a p95 moves by more than a mean.
        Metric("output_p95_tokens", "tokens", "relative", Decimal("0.30")),
        # Of the calls whose source says why they stopped, the share cut by their cap (finish_reason = length).
        Metric("truncation_rate", "share", "points", Decimal("0.05"), seasonal=True),
        # Calls per session begun with the feature: a loop of hundreds of steps moves it, a busy day does not.
        Metric("calls_per_session", "calls", "relative", Decimal("0.50")),
    )
}
PER_CALL = ["cost_per_request_usd", "input_tokens_per_request", "output_tokens_per_request", "cache_hit_rate",
            "error_rate", "retry_rate", "truncation_rate"]
SCOPE_METRICS = {
    "total": ["cost_usd", *PER_CALL, "unattributed_share", "model_mix", "calls_per_session"],
    "app": ["cost_usd", *PER_CALL, "unattributed_share", "model_mix", "calls_per_session"],
    "feature": ["cost_usd", *PER_CALL, "model_mix", "output_p95_tokens", "calls_per_session"],
    # A model's calls are not split into sessions, nor its outputs' tail kept apart from its features'.
    "model": ["cost_usd", *PER_CALL[:-1], "unattributed_share"],
    # A tenant's per-call metrics are its features' metrics weighted by which of its users were active that day:
    # feature scope watches those; per tenant, spend is what matters.
    "tenant": ["cost_usd"],
}
SCOPE_ORDER = ["total", "app", "feature", "model", "tenant"]
# Shape metrics count other things than calls; each needs enough of its own on the day (and in the pool).
MIN_SESSIONS = 10
RATE_FIELDS = {"cache_hit_rate": ("cache_hits", "requests"), "error_rate": ("failed", "requests"),
               "retry_rate": ("retried", "requests"), "truncation_rate": ("truncated", "finished")}


def value(metric: str, agg: Agg | None, min_requests: int) -> Decimal | None:
    agg = agg or Agg()
    if metric == "cost_usd":
        return agg.spend
    if metric == "unattributed_share":
        return agg.unattributed / agg.spend if agg.spend > 0 else None
    if metric == "calls_per_session":
        return Decimal(agg.session_calls) / agg.sessions if agg.sessions >= MIN_SESSIONS else None
    if metric == "truncation_rate":
        return Decimal(agg.truncated) / agg.finished if agg.finished >= min_requests else None
    if agg.requests < min_requests:
        return None
    n = Decimal(agg.requests)
    return {
        "cost_per_request_usd": lambda: agg.cost / n,
        "input_tokens_per_request": lambda: agg.input_tokens / n,
        "output_tokens_per_request": lambda: agg.output_tokens / n,
        "cache_hit_rate": lambda: agg.cache_hits / n,
        "error_rate": lambda: agg.failed / n,
        "retry_rate": lambda: agg.retried / n,
        "output_p95_tokens": lambda: Decimal(agg.output_p95) if agg.output_p95 is not None else None,
    }[metric]()


def mix_distance(shares: dict, reference: dict) -> Decimal:
    """Total-variation distance between two distributions of calls over models (0 = same, 1 = disjoint)."""
    keys = set(shares) | set(reference)
    return sum((abs(shares.get(k, Decimal(0)) - reference.get(k, Decimal(0))) for k in keys), Decimal(0)) / 2


def call_shares(aggs: list[Agg]) -> dict:
    total = sum(a.requests for a in aggs)
    out: dict = {}
    for a in aggs:
        for k, m in a.models.items():
            out[k] = out.get(k, Decimal(0)) + Decimal(m.requests)
    return {k: v / total for k, v in out.items()} if total else {}


def metric_history(h: History, subject: Subject, metric: str, day: date, cfg: DriftConfig) -> dict[date, Decimal]:
    series = h.series.get(subject, {})
    since = day - timedelta(days=28)
    out = {}
    for d in h.days:
        if since <= d < day:
            v = value(metric, series.get(d), cfg.min_requests)
            if v is not None:
                out[d] = v
    return out


def mix_baseline(h: History, subject: Subject, day: date, cfg: DriftConfig) -> tuple[Baseline | None, dict]:
    series = h.series.get(subject, {})
    days = [day - timedelta(days=i) for i in range(1, cfg.baseline_days + 1)]
    aggs = {d: series[d] for d in days if d in series and series[d].requests >= cfg.min_requests}
    reference = call_shares(list(aggs.values()))
    history = {d: mix_distance(call_shares([a]), reference) for d, a in aggs.items()}
    return baseline(history, day, False, cfg.baseline_days, cfg.min_history_days), reference


def effect_of(metric: str, observed: Decimal, base: Decimal, agg: Agg, story: SpendChange | None) -> Decimal:
    """Spend per day at stake in a metric's change (positive: spend goes up)."""
    delta = observed - base
    if metric == "cost_usd":
        return delta
    if metric == "cost_per_request_usd":
        return delta * agg.requests
    if metric in ("input_tokens_per_request", "output_tokens_per_request"):
        tokens = agg.input_tokens if metric.startswith("input") else agg.output_tokens
        share = story.input_value_share if story and metric.startswith("input") else (
            1 - story.input_value_share if story else Decimal("0.5"))
        return delta * agg.requests * (agg.cost * share / tokens) if tokens else Decimal(0)
    if metric == "cache_hit_rate":
        return -delta * agg.cost
    if metric == "unattributed_share":
        return delta * agg.spend
    if metric == "model_mix":
        return story.effects.mix if story and story.effects else delta * agg.cost
    output_cost = agg.cost * (1 - story.input_value_share if story else Decimal("0.5"))
    if metric == "output_p95_tokens":
        # The day's output spend, had every output moved as the tail did: an upper bound, as the tail's is.
        return delta / base * output_cost if base else Decimal(0)
    if metric == "calls_per_session":
        return delta * agg.sessions * (agg.cost / agg.requests) if agg.requests else Decimal(0)
    if metric == "truncation_rate":
        # A cut answer's output is paid for and usually asked again.
        return delta * agg.finished * (output_cost / agg.requests) if agg.requests else Decimal(0)
    return delta * agg.cost  # error_rate, retry_rate: failed and retried calls are paid for


def spread_of(metric: Metric, base: Baseline) -> Decimal:
    floor = abs(base.value) * Decimal("0.02") if metric.kind == "relative" else Decimal("0.005")
    return max(base.spread, floor)


def pooled_rate(h: History, subject: Subject, metric: str, day: date, cfg: DriftConfig) -> Decimal | None:
    """A share metric over the baseline days' calls pooled: the median of daily rates of rare events is 0 on
    small days, which would make one failed call look like a jump."""
    if metric not in RATE_FIELDS:
        return None
    field, of = RATE_FIELDS[metric]
    series = h.series.get(subject, {})
    days = [series[d] for d in (day - timedelta(days=i) for i in range(1, cfg.baseline_days + 1)) if d in series]
    calls = sum(getattr(a, of) for a in days)
    return Decimal(sum(getattr(a, field) for a in days)) / calls if calls else None


def sampling_error(metric: str, agg: Agg, base: Decimal, pooled: Decimal | None = None) -> Decimal:
    """The day's own standard error, as it would be at the baseline's level (a dip is judged by the noise of the
    usual day, not of the quiet one): spend and per-call means are sums over users, some heavy (cluster-robust);
    rates are binomial at the usual rate (pooled), cache hits with sessions as clusters (a session's calls hit
    or miss the cache together)."""
    m, n = agg.moments, agg.requests
    if metric == "cost_usd":
        observed = float(agg.spend)
        scale = max(1.0, float(base) / observed) if observed > 0 else 1.0
        return Decimal(math.sqrt(max(m.get("cost_sq", 0.0), 0.0) * scale))
    ratio = {"cost_per_request_usd": "cost", "input_tokens_per_request": "input", "output_tokens_per_request": "output"}
    if metric in ratio and n:
        x, mean = ratio[metric], float(base)
        var = m.get(f"{x}_sq", 0.0) - 2 * mean * m.get(f"{x}_x_requests", 0.0) + mean * mean * m.get("requests_sq", 0.0)
        return Decimal(math.sqrt(max(var, 0.0)) / n)
    if metric == "model_mix" and n:
        # The total-variation distance a day of n_eff independent sessions shows by chance alone.
        n_eff = n * n / m["requests_sq"] if m.get("requests_sq") else n
        shares = [Decimal(md.requests) / n for md in agg.models.values()]
        return sum((Decimal(math.sqrt(float(p * (1 - p)) / n_eff)) for p in shares), Decimal(0)) / 2
    if metric in RATE_FIELDS and (n := getattr(agg, RATE_FIELDS[metric][1])):
        p = min(max(float(max(base, pooled or Decimal(0))), 0.0), 1.0)
        n_eff = n * n / m["requests_sq"] if metric == "cache_hit_rate" and m.get("requests_sq") else n
        return Decimal(math.sqrt(p * (1 - p) / n_eff))
    return Decimal(0)


def unusual(metric: Metric, observed: Decimal, base: Baseline, z: Decimal, min_base: Decimal,
            se: Decimal = Decimal(0)) -> bool:
    """Out of the series' own noise and the day's sampling error, and large enough to matter (money after)."""
    delta = observed - base.value
    if abs(delta) < z * max(spread_of(metric, base), se):
        return False
    if metric.kind == "relative":
        # A subject that usually spends less than the money threshold has no level to drift from.
        floor = min_base if metric.name == "cost_usd" else Decimal(0)
        return base.value > floor and abs(delta) >= metric.min_change * base.value
    return abs(delta) >= metric.min_change
