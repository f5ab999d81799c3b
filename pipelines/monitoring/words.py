"""Drift in words: one plain sentence per finding, and the spend change split into parts that add up.

Rules the texts keep (the digest's reader adds them up): every money figure carries its sign; the parts of a
spend change are rounded to cents and shown so that they sum to the change as shown (the smaller parts are
summed as "smaller effects", never dropped); a percentage sits next to the figure it is a percentage of.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pipelines.monitoring.explain import SpendChange

CENT = Decimal("0.01")
MINUS = "\u2212"


def usd(value: Decimal, signed: bool = False) -> str:
    v = Decimal(value).quantize(CENT, ROUND_HALF_EVEN)
    text = f"${abs(v):,}"
    return ((MINUS if v < 0 else "+") + text) if signed else (MINUS + text if v < 0 else text)


def pct(value: Decimal | float | None) -> str:
    if value is None:
        return "n/a"
    v = round(float(value))
    return f"{MINUS if v < 0 else '+'}{abs(v)} %"


def share(value: Decimal) -> str:
    v = float(value) * 100
    return f"{v:.1f} %" if abs(v) < 10 else f"{v:.0f} %"


def md(d: date) -> str:
    return d.strftime("%m-%d")


def change_phrase(metric: str, base: Decimal, observed: Decimal) -> str:
    """What moved, from the usual value to the day's: 'input tokens per call 8,513 → 12,411 (+46 %)'."""
    rel = pct((observed - base) / base * 100) if base else "new"
    if metric == "cost_usd":
        return f"spend {usd(base)} → {usd(observed)} a day ({rel})"
    if metric == "cost_per_request_usd":
        return f"cost per call ${base:,.4f} → ${observed:,.4f} ({rel})"
    if metric in ("input_tokens_per_request", "output_tokens_per_request"):
        return f"{metric.split('_')[0]} tokens per call {base:,.0f} → {observed:,.0f} ({rel})"
    if metric == "output_p95_tokens":
        return f"output tokens per call at the 95th percentile {base:,.0f} → {observed:,.0f} ({rel})"
    if metric == "calls_per_session":
        return f"calls per session {base:,.1f} → {observed:,.1f} ({rel})"
    if metric == "model_mix":
        return f"calls by model {float(observed) * 100:.0f} % away from the usual mix"
    name = {"cache_hit_rate": "cache hit rate", "error_rate": "error rate", "retry_rate": "retry rate",
            "truncation_rate": "share of answers cut by their cap", "unattributed_share": "share of spend no logged call explains"}[metric]
    return f"{name} {share(base)} → {share(observed)}"


def cause(metric: str, change: SpendChange | None) -> str:
    """The coinciding cause worth naming beside this metric ('' when none)."""
    if change is None:
        return ""
    money = metric in ("cost_usd", "cost_per_request_usd")
    if change.prompt and (money or "tokens" in metric):
        return f"since prompt {change.prompt[0]} ({md(change.prompt[1])})"
    if change.new_model and (money or metric == "model_mix"):
        label, s0, s1, since = change.new_model
        return f"with a switch to {label} ({share(s0)} → {share(s1)} of calls since {md(since)})"
    if change.cache and money:
        return f"as the cache hit rate fell {share(change.cache[0])} → {share(change.cache[1])}"
    return ""


def spend_explanation(c: SpendChange) -> str:
    """'spend $13.41 → $18.51 (+$5.10): price per token +$5.26, volume −$1.64 (338 → 305 calls), …'."""
    total = (c.observed - c.baseline).quantize(CENT, ROUND_HALF_EVEN)
    head = f"spend {usd(c.baseline)} → {usd(c.observed)} ({usd(total, signed=True)}"
    head += f", {pct((c.observed - c.baseline) / c.baseline * 100)})" if c.baseline else ")"
    e = c.effects
    (i0, o0), (i1, o1) = c.tokens_per_call
    parts = [
        (e.volume, f"volume {{}} ({float(c.calls[0]):,.0f} → {c.calls[1]:,} calls)"),
        (e.tokens, f"tokens per call {{}} (input {float(i0):,.0f} → {float(i1):,.0f}, output {float(o0):,.0f} → {float(o1):,.0f})"),
        (e.price, "price per token {}" + (f" (cache hit rate {share(c.cache[0])} → {share(c.cache[1])})" if c.cache else "")),
        (e.mix, "model mix {}"),
        (e.other, "spend no logged call explains {}"),
    ]
    floor = max(abs(total) * Decimal("0.1"), CENT)
    parts = sorted(((v.quantize(CENT, ROUND_HALF_EVEN), text) for v, text in parts), key=lambda p: -abs(p[0]))
    shown = [(v, text) for v, text in parts[:3] if abs(v) >= floor]
    rest = total - sum((v for v, _ in shown), Decimal(0))
    words = [text.format(usd(v, signed=True)) for v, text in shown]
    if rest:
        words.append(f"smaller effects {usd(rest, signed=True)}")
    return head + (": " + ", ".join(words) if words else "")


def owners(rows: list[dict[str, Any]]) -> str:
    """'$0.99 billed to workspace:wrkspc_01SupportBot (billed not logged), $0.45 to …' (largest two)."""
    top = sorted(rows, key=lambda r: -abs(r["unattributed_cost_usd"]))[:2]
    said = [f"{usd(r['unattributed_cost_usd'])} {'billed to ' if i == 0 else 'to '}{r['unattributed_owner'] or 'an unknown owner'}"
            f" ({(r['gap_reason'] or 'unexplained').replace('_', ' ')})" for i, r in enumerate(top)]
    return ", ".join(said)


def sentence(label: str, phrases: list[str], why: str = "", owned: str = "") -> str:
    """One finding (or a story's findings) as one sentence: 'label: a, b and c since …; $x billed to …'."""
    said = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"{label}: {said}" + (f" {why}" if why else "") + (f"; {owned}" if owned else "") + "."
