"""Why a subject's spend moved: its decomposition against the baseline, and the causes that coincide.

The baseline composition is the trailing 14 days pooled (calls, tokens and spend per model), scaled to the
robust spend baseline, so the effects add up to ``observed - baseline`` exactly. Causes named when present:
a prompt version first seen in the last 14 days that now carries >= 25 % of the feature's calls, a model
that went from < 5 % to >= 20 % of the calls, a cache hit rate down >= 10 points, and for unattributed spend
the owners the provider data names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pipelines.monitoring.decompose import Effects, Mix, decompose, frac
from pipelines.monitoring.series import Agg, History, Subject

if TYPE_CHECKING:
    from pipelines.monitoring.drift import Context, DriftConfig, Finding

DEFAULT_WEIGHTS = (Decimal(1), Decimal(4))  # input : output, for a model with no known list price


@dataclass
class Story:
    baseline: Decimal
    observed: Decimal
    effects: Effects
    input_value_share: Decimal  # of today's price-weighted tokens, the input part
    calls: tuple[Decimal, int]  # baseline-level calls, today's calls
    tokens_per_call: tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]  # (input, output) before, after
    prompt: tuple[str, date] | None = None
    new_model: tuple[str, Decimal, Decimal, date] | None = None  # label, share before, share after, since
    cache: tuple[Decimal, Decimal] | None = None  # hit rate before, after (when it dropped)


def _weighted(models: dict, weights: dict) -> Mix:
    mix = Mix()
    for key, m in models.items():
        w_in, w_out = weights.get(key) or DEFAULT_WEIGHTS
        mix.calls[key] = Fraction(m.requests)
        mix.tokens[key] = frac(m.input_tokens * w_in + m.output_tokens * w_out)
        mix.cost[key] = frac(m.cost)
    return mix


def _pool(aggs: list[Agg]) -> Agg:
    pooled = Agg()
    for a in aggs:
        pooled.requests += a.requests
        pooled.cache_hits += a.cache_hits
        pooled.input_tokens += a.input_tokens
        pooled.output_tokens += a.output_tokens
        pooled.cost += a.cost
        pooled.unattributed += a.unattributed
        for k, m in a.models.items():
            p = pooled.models.setdefault(k, type(m)())
            p.requests += m.requests
            p.input_tokens += m.input_tokens
            p.output_tokens += m.output_tokens
            p.cost += m.cost
    return pooled


def story_for(h: History, subject: Subject, day: date, base: Decimal, agg: Agg, weights: dict,
              cfg: "DriftConfig") -> Story:
    series = h.series.get(subject, {})
    window = [day - timedelta(days=i) for i in range(1, cfg.baseline_days + 1)]
    pooled = _pool([series[d] for d in window if d in series])
    before = _weighted(pooled.models, weights)
    before.other = frac(pooled.unattributed)
    total = before.total
    scale = frac(base) / total if total else Fraction(0)
    after = _weighted(agg.models, weights)
    after.other = frac(agg.unattributed)
    effects = decompose(before.scaled(scale), after)
    in_value = sum((m.input_tokens * (weights.get(k) or DEFAULT_WEIGHTS)[0] for k, m in agg.models.items()), Decimal(0))
    all_value = in_value + sum(
        (m.output_tokens * (weights.get(k) or DEFAULT_WEIGHTS)[1] for k, m in agg.models.items()), Decimal(0))
    n0 = Decimal(pooled.requests)
    story = Story(
        baseline=base,
        observed=agg.spend,
        effects=effects,
        input_value_share=in_value / all_value if all_value else Decimal("0.5"),
        calls=(n0 * Decimal(scale.numerator) / Decimal(scale.denominator), agg.requests),
        tokens_per_call=(
            (pooled.input_tokens / n0, pooled.output_tokens / n0) if n0 else (Decimal(0), Decimal(0)),
            (Decimal(agg.input_tokens) / agg.requests, Decimal(agg.output_tokens) / agg.requests)
            if agg.requests else (Decimal(0), Decimal(0)),
        ),
    )
    if subject.scope == "feature":
        story.prompt = _new_prompt(h, subject, day, agg, cfg)
    story.new_model = _new_model(series, pooled, agg, window, cfg)
    if pooled.requests >= cfg.min_requests and agg.requests >= cfg.min_requests:
        r0, r1 = Decimal(pooled.cache_hits) / pooled.requests, Decimal(agg.cache_hits) / agg.requests
        if r0 - r1 >= Decimal("0.10"):
            story.cache = (r0, r1)
    return story


def _new_prompt(h: History, subject: Subject, day: date, agg: Agg, cfg: "DriftConfig") -> tuple[str, date] | None:
    versions = h.prompts.get((subject.app, subject.feature), {})
    first_day = min(h.days) if h.days else day
    best = None
    for version, by_day in versions.items():
        seen = [d for d, n in by_day.items() if n > 0 and d <= day]
        if not seen or not agg.requests:
            continue
        since = min(seen)
        share = Decimal(by_day.get(day, 0)) / agg.requests
        if since > first_day and since >= day - timedelta(days=cfg.baseline_days - 1) and share >= Decimal("0.25"):
            if best is None or share > best[0]:
                best = (share, version, since)
    return (best[1], best[2]) if best else None


def _shares(a: Agg) -> dict:
    return {k: Decimal(m.requests) / a.requests for k, m in a.models.items()} if a.requests else {}


def _new_model(series: dict, pooled: Agg, agg: Agg, window: list[date], cfg: "DriftConfig"):
    before, now = _shares(pooled), _shares(agg)
    for key, share in sorted(now.items(), key=lambda kv: -kv[1]):
        if share >= Decimal("0.20") and before.get(key, Decimal(0)) < Decimal("0.05") and agg.requests >= cfg.min_requests:
            since = next((d for d in sorted(window) if d in series and _shares(series[d]).get(key, 0) >= Decimal("0.20")),
                         max(window) + timedelta(days=1))
            return f"{key[0]}/{key[1]}", before.get(key, Decimal(0)), share, since
    return None


def pct(value: Decimal | float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{float(value):+.{digits}f} %"


def usd(value: Decimal, signed: bool = False) -> str:
    v = float(value)
    text = f"${abs(v):,.2f}"
    return (("+" if v >= 0 else "-") + text) if signed else text


def share(value: Decimal) -> str:
    return f"{float(value) * 100:.0f} %"


def _md(d: date) -> str:
    return d.strftime("%m-%d")


def phrases(story: Story) -> list[str]:
    """The effects worth naming, largest first, each with its coinciding cause."""
    e, base = story.effects, story.baseline
    change = e.total
    if not base or not change:
        return []
    named = {
        "tokens": e.tokens, "volume": e.volume, "price": e.price, "mix": e.mix, "other": e.other,
    }
    cutoff = max(abs(change) * Decimal("0.1"), Decimal("0.005"))
    out, used = [], set()
    for name, effect in sorted(named.items(), key=lambda kv: -abs(kv[1]))[:3]:
        if abs(effect) < cutoff:
            continue
        p = pct(effect / base * 100)
        if name == "tokens":
            (i0, o0), (i1, o1) = story.tokens_per_call
            text = f"tokens per call {p} (input {float(i0):,.0f} → {float(i1):,.0f}, output {float(o0):,.0f} → {float(o1):,.0f})"
            if story.prompt:
                text += f" since prompt {story.prompt[0]} on {_md(story.prompt[1])}"
                used.add("prompt")
        elif name == "volume":
            text = f"volume {p} ({float(story.calls[0]):,.0f} → {story.calls[1]:,} calls)"
        elif name == "price":
            text = f"price per token {p}"
            if story.cache:
                text += f" (cache hit rate {share(story.cache[0])} → {share(story.cache[1])})"
                used.add("cache")
        elif name == "mix":
            text = f"model mix {p}"
            if story.new_model:
                text += _switch(story)
                used.add("model")
        else:
            text = f"unattributed spend {usd(effect, signed=True)}"
        out.append(f"{text} ({usd(effect, signed=True)})")
    if story.prompt and "prompt" not in used:
        out.append(f"new prompt {story.prompt[0]} since {_md(story.prompt[1])}")
    if story.new_model and "model" not in used:
        out.append("model" + _switch(story))
    if story.cache and "cache" not in used:
        out.append(f"cache hit rate {share(story.cache[0])} → {share(story.cache[1])}")
    return out


def _switch(story: Story) -> str:
    label, s0, s1, since = story.new_model
    return f" (switch to {label}: {share(s0)} → {share(s1)} of calls since {_md(since)})"


HEADLINES = {
    "cost_usd": lambda f: f"spend {pct(_rel(f))} ({usd(f.base.value)} → {usd(f.observed)} per day)",
    "cost_per_request_usd": lambda f: f"cost per call {pct(_rel(f))} (${float(f.base.value):,.4f} → ${float(f.observed):,.4f})",
    "input_tokens_per_request": lambda f: f"input tokens per call {pct(_rel(f))} ({float(f.base.value):,.0f} → {float(f.observed):,.0f})",
    "output_tokens_per_request": lambda f: f"output tokens per call {pct(_rel(f))} ({float(f.base.value):,.0f} → {float(f.observed):,.0f})",
    "cache_hit_rate": lambda f: f"cache hit rate {share(f.base.value)} → {share(f.observed)}",
    "error_rate": lambda f: f"error rate {share(f.base.value)} → {share(f.observed)}",
    "retry_rate": lambda f: f"retry rate {share(f.base.value)} → {share(f.observed)}",
    "unattributed_share": lambda f: f"share of the bill no logged call explains {share(f.base.value)} → {share(f.observed)}",
    "model_mix": lambda f: f"model mix moved {float(f.observed) * 100:.0f} points from the usual",
}


def _rel(f: "Finding") -> Decimal | None:
    return (f.observed - f.base.value) / f.base.value * 100 if f.base.value else None


def explain(f: "Finding", story: Story | None, ctx: "Context", unattributed: list[dict[str, Any]]) -> tuple[str, str | None]:
    s = f.subject
    head = f"{s.label if s.scope != 'total' else 'all spend'}: {HEADLINES[f.metric](f)}"
    parts = []
    if f.metric == "unattributed_share" or (story and story.effects.other and abs(story.effects.other) >= abs(story.effects.total) / 2):
        owners = _owners(s, unattributed)
        if owners:
            parts.append(owners)
    if story:
        said = phrases(story)
        if said:
            lead = "" if f.metric == "cost_usd" else f"spend {pct(story.effects.total / story.baseline * 100)}: " if story.baseline else ""
            parts.insert(0, lead + "; ".join(said))
    driver = _driver(s, story, ctx) if s.scope in ("total", "app", "model") else None
    if driver:
        d_story = ctx.story(driver)
        change = d_story.observed - d_story.baseline
        text = f"mostly {driver.label} ({usd(change, signed=True)} of {usd(story.effects.total, signed=True)})"
        if d_story.prompt:
            text += f", prompt {d_story.prompt[0]} since {_md(d_story.prompt[1])}"
        parts.append(text)
    return head + (": " + "; ".join(parts) if parts else ""), driver.label if driver else None


def _driver(s: Subject, story: Story | None, ctx: "Context") -> Subject | None:
    """The feature whose spend change (same direction) is at least half the subject's."""
    if not story or not story.effects.total:
        return None
    change = story.effects.total
    best, best_change = None, Decimal(0)
    for cand in ctx.h.series:
        agg, base = ctx.h.agg(cand, ctx.day), None
        if cand.scope != "feature" or agg is None:
            continue
        if (s.scope == "app" and cand.app != s.app) or (s.scope == "model" and (s.provider, s.model) not in agg.models):
            continue
        base = ctx.cost_base(cand)
        if base is None:
            continue
        c = agg.spend - base.value
        if (c > 0) == (change > 0) and abs(c) > abs(best_change):
            best, best_change = cand, c
    if best is not None and abs(best_change) >= abs(change) / 2 and ctx.story(best) is not None:
        return best
    return None


def _owners(s: Subject, rows: list[dict[str, Any]]) -> str:
    def mine(r):
        if s.scope == "app":
            return r.get("owner_app") == s.app
        if s.scope == "model":
            return r.get("provider") == s.provider and r.get("model") == s.model
        return s.scope == "total"

    top = sorted((r for r in rows if mine(r)), key=lambda r: -abs(r["unattributed_cost_usd"]))[:2]
    return "; ".join(
        f"{usd(r['unattributed_cost_usd'])} owned by {r['unattributed_owner'] or 'unknown'} ({r['gap_reason']})" for r in top
    )
