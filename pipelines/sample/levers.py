"""Output caps, finish reasons and agent traces in the mixed organisation, and their ground truth.

Planted (``org_mixed.py``): ``kb_answer`` sets no cap and its answers grow after a prompt change;
``ticket_tag``'s cap is too tight, so many answers are cut (finish reason ``length``); ``resolve_agent``
runs agent sessions (one trace, each step's parent the step before) and on one day a few of them loop
for hundreds of steps. The truth's saving figures come from the generator's own token counts and the
list output price (genai-prices), with the same quantile rule as the warehouse (a real call's count:
the ``ceil(n·q)``-th smallest, DuckDB's ``quantile_disc``).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl

from pipelines.sample.listprice import unit_prices
from pipelines.sample.orgs import ALL_MODELS
from pipelines.sample.tables import ERROR, OK, Tables

LEVER_COLUMNS = ["max_output_tokens", "finish_reason", "trace_id", "parent_call_id"]
RUNAWAY_AT = 0.5  # the runaway day, as a fraction of the period
RUNAWAY_STEPS = (180, 260, 340)  # steps of the planted runaway sessions (fewer on a small day: half its calls at most)


def runaway_steps(calls_today: int) -> tuple[int, ...]:
    budget = calls_today // 2
    total = sum(RUNAWAY_STEPS)
    if total <= budget:
        return RUNAWAY_STEPS
    return tuple(max(2, s * budget // total) for s in RUNAWAY_STEPS)


def plant_runaways(T: Tables, fs: np.ndarray, L: np.ndarray, n: int, steps: tuple[int, ...]):
    """Make the chunk's first sessions the runaway agent runs, then trim the rest back to exactly ``n`` calls."""
    fs, L = fs.copy(), L.copy()
    r = len(steps)
    fs[:r] = int(np.flatnonzero(T.agent)[0])
    L[:r] = steps
    cs = np.cumsum(L)
    s = int(np.searchsorted(cs, n)) + 1
    fs, L = fs[:s], L[:s]
    L[-1] -= int(cs[s - 1]) - n
    return fs, L


def lever_columns(T: Tables, f, k, sess, status, cache_hit, capped, L, session_ids: pl.Series, call_ids: pl.Series,
                  order) -> list[pl.Series]:
    """The cap, finish reason, trace and parent of each call, in time order (``order``)."""
    n = f.size
    cap = T.out_cap[f]
    agent = T.agent[f]
    answered = (status == OK) & ~cache_hit
    last_step = k == L[sess] - 1
    reason = np.select(
        [answered & capped, answered & agent & ~last_step, answered, status == ERROR],
        ["length", "tool_calls", "stop", "error"], "")
    parent = np.where(agent & (k > 0), np.arange(n) - 1, 0)
    trace = pl.Series(["tr_" + s[5:] for s in session_ids.to_list()]).gather(sess)
    return [
        pl.Series("max_output_tokens", np.where(cap > 0, cap, 0)[order]).replace(0, None),
        pl.Series("finish_reason", reason[order]).replace("", None),
        trace.gather(order).set(pl.Series(~agent[order]), None).alias("trace_id"),
        call_ids.gather(parent[order]).set(pl.Series(~(agent & (k > 0))[order]), None).alias("parent_call_id"),
    ]


def quantile_disc(values: np.ndarray, q: float) -> int:
    """The ``ceil(n·q)``-th smallest value: DuckDB's quantile_disc."""
    s = np.sort(values)
    return int(s[max(0, math.ceil(s.size * q) - 1)])


class LeverDay:
    """What the truth needs of a day's calls of the planted features, gathered chunk by chunk."""

    def __init__(self, T: Tables, day: date):
        self.T, self.day = T, day
        self.names = [x.name for x in T.features if x.max_output or x.agent or any(p.output_mult != 1 for p in x.prompts)]
        self.parts: list[pl.DataFrame] = []
        self.runaways: list[str] = []

    def add(self, calls: pl.DataFrame, runaway_sessions: list[str]) -> None:
        self.parts.append(calls.filter(pl.col("feature").is_in(self.names)).select(
            "app", "feature", "session_id", "output_tokens", "finish_reason", "max_output_tokens", "_model"))
        self.runaways += runaway_sessions

    def truth(self) -> dict:
        calls = pl.concat(self.parts)
        ceilings = []
        for (app, feature), g in calls.group_by("app", "feature", maintain_order=True):
            out = g.filter(pl.col("output_tokens") > 0)
            p99 = quantile_disc(out["output_tokens"].to_numpy(), 0.99)
            saved, saving = 0, Decimal(0)
            for model, m in out.group_by("_model"):
                spec = ALL_MODELS[model[0]]
                excess = int(np.maximum(m["output_tokens"].to_numpy() - p99, 0).sum())
                saved += excess
                saving += excess * unit_prices(spec.provider, spec.priced_as, self.day, False)["output"]
            ceilings.append({
                "app": app, "feature": feature, "calls": g.height,
                "uncapped_calls": int(g["max_output_tokens"].is_null().sum()),
                "output_p95_tokens": quantile_disc(out["output_tokens"].to_numpy(), 0.95), "cap_p99_tokens": p99,
                "truncated_calls": int((g["finish_reason"] == "length").sum()),
                "whatif_cap_p99_tokens_saved": saved, "whatif_cap_p99_saving_usd": str(saving),
            })
        sessions = calls.filter(pl.col("session_id").is_in(self.runaways)).group_by("app", "feature", "session_id").len()
        runaways = [{"app": a, "feature": f, "session_id": s, "calls": c} for a, f, s, c in sessions.sort("session_id").rows()]
        return {"day": self.day.isoformat(), "ceilings": sorted(ceilings, key=lambda c: c["feature"]), "runaways": runaways}
