"""One chunk of a day's calls: sessions, retries, caching, tokens, latencies — all vectorised.

A chunk covers a slice of the day's traffic (quantiles ``u0``..``u1`` of the diurnal
profile) and holds exactly ``n`` logged calls. Besides the rows it returns the
billed usage they caused (aggregated per hour, model, owner, batch, long context)
and the planted unlogged retries, so provider exports never need the rows again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines.sample.frames import Rows, calls_frame, outcomes_frame, usage_frame
from pipelines.sample.ids import hex_ids, uuid4s
from pipelines.sample.levers import lever_columns, plant_runaways
from pipelines.sample.org import GAPS
from pipelines.sample.tables import ABORTED, ERROR, OK, RATE_LIMITED, TIMEOUT, Population, Tables, time_of_day

@dataclass(frozen=True)
class ChunkPlan:
    day: date
    n: int
    u0: float  # traffic quantiles this chunk covers
    u1: float
    incident: bool  # planted unlogged retries happen today
    prompts: tuple[tuple[str | None, float, float], ...]  # per feature: live prompt version, input, output multiplier
    decoys: int = 0  # id-less decoy twins to plant (pairs of different embedding calls, same tokens)
    runaways: tuple[int, ...] = ()  # steps of the runaway agent sessions to plant (levers.py)


@dataclass
class Chunk:
    calls: pl.DataFrame  # canonical columns, plus helper columns starting with "_"
    outcomes: pl.DataFrame
    usage: pl.DataFrame  # billed usage of logged calls, aggregated on USAGE_KEYS
    hidden: pl.DataFrame  # billed usage of unlogged retries, same shape
    decoys: pl.DataFrame | None = None  # call_id_a, call_id_b of the planted decoy twins
    runaway_sessions: list[str] | None = None  # session ids of the planted runaway agent runs


def _sessions(rng: np.random.Generator, T: Tables, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Feature and call count of just enough sessions for exactly ``n`` calls."""
    w = T.share / T.session_mean
    w = w / w.sum()
    avg = float((w * T.session_mean).sum())
    feats, lens, total = [], [], 0
    while total < n:
        m = int((n - total) / avg * 1.1) + 16
        f = np.searchsorted(np.cumsum(w), rng.random(m) * (1 - 1e-12), side="right")
        lens.append(rng.geometric(1.0 / T.session_mean[f]))
        feats.append(f)
        total += int(lens[-1].sum())
    f, L = np.concatenate(feats), np.concatenate(lens)
    cs = np.cumsum(L)
    s = int(np.searchsorted(cs, n)) + 1
    f, L = f[:s], L[:s].copy()
    L[-1] -= int(cs[s - 1]) - n
    return f, L


def _attempts(r: np.ndarray) -> np.ndarray:
    idx = np.arange(r.size)
    for _ in range(2):  # cap chains at 3 attempts
        attempt = idx - np.maximum.accumulate(np.where(r, 0, idx)) + 1
        r &= attempt <= 3
    return idx - np.maximum.accumulate(np.where(r, 0, idx)) + 1


def generate_chunk(rng: np.random.Generator, T: Tables, pop: Population, plan: ChunkPlan) -> Chunk:
    n = plan.n
    fs, L = _sessions(rng, T, n)
    if plan.runaways:
        fs, L = plant_runaways(T, fs, L, n, plan.runaways)
    S = fs.size
    starts = np.cumsum(L) - L
    sess = np.repeat(np.arange(S), L)
    k = np.arange(n) - starts[sess]
    f = fs[sess]
    retry_f = T.retry_feature

    # Retries: row i is a retry of row i-1 (same session) after a rate limit or timeout.
    batch = (rng.random(n) < T.batch[f]) & (k == 0)
    p_retry = np.where(T.is_embedding[f], 0.004, 0.015)
    if plan.incident:
        p_retry = np.where(f == retry_f, 0.08, p_retry)
    r = (rng.random(n) < p_retry) & (k > 0) & ~batch
    r[1:] &= ~batch[:-1]
    attempt = _attempts(r)
    root = np.arange(n) - attempt + 1
    next_retry = np.zeros(n, dtype=bool)
    next_retry[:-1] = attempt[1:] > 1

    var = T.pick_variant(f, rng.random(n))[root]
    if not T.var_batch_ok.all():  # a batch call goes to a route that has a Batch API
        var = np.where(batch & ~T.var_batch_ok[var], T.batch_variant[f], var)
    model = T.var_model[var]
    owner = T.var_owner[var]

    u = rng.random(n)
    plain = ~next_retry & ~batch
    timeout_p = 0.006 if plan.incident else 0.002
    status = np.select(
        [next_retry, plain & (u < 0.004), plain & (u < 0.005), plain & (u < 0.005 + timeout_p),
         plain & T.streaming[f] & (u < 0.017 + timeout_p)],
        [np.where(rng.random(n) < 0.6, RATE_LIMITED, TIMEOUT), ERROR, RATE_LIMITED, TIMEOUT, ABORTED],
        OK,
    ).astype(np.int8)
    cache_hit = (rng.random(n) < T.response_cache[f]) & (attempt == 1) & (status == OK) & ~next_retry & ~batch
    billed = ((status == OK) | (status == ABORTED)) & ~cache_hit

    tokens, hidden_tokens, capped = _tokens(rng, T, plan, f, k, sess, root, batch, status, billed, fs)
    lat = _latency(rng, T, f, model, status, cache_hit, batch, tokens["output_tokens"])

    # Times: a session's calls follow each other (previous latency + think time or retry backoff).
    gap = np.where(attempt > 1, 0.5 * 2.0 ** (attempt - 1) * rng.uniform(0.5, 1.5, n), rng.exponential(40.0, n))
    if T.levers:  # an agent's next step follows at once, not after a person's think time
        gap = np.where(T.agent[f] & (attempt == 1), gap / 40.0, gap)
    step = np.zeros(n)
    step[1:] = lat[:-1] / 1000.0 + gap[1:]
    step[k == 0] = 0.0
    cum = np.cumsum(step)
    t1 = 86_399.999 if plan.u1 >= 1.0 else float(time_of_day(np.array([plan.u1]))[0])
    t_start = time_of_day(rng.uniform(plan.u0, plan.u1, S))
    t = np.minimum(t_start[sess] + cum - cum[starts][sess], t1 - 0.001)
    pairs = _plant_decoys(rng, T, plan.decoys, f, L[sess], billed, tokens, t, t1) if plan.decoys else None
    ms_of_day = np.floor(t * 1000.0).astype(np.int64)
    order = np.argsort(ms_of_day, kind="stable")

    user = np.searchsorted(pop.user_cdf, rng.random(S) * (1 - 1e-12), side="right")
    call_ids = uuid4s(rng, n, "call_id")
    session_ids = hex_ids(rng, S, 10, "sess_", "session_id")
    rows = Rows(f, var, model, owner, sess, batch, status, attempt, lat, cache_hit, tokens)
    calls = calls_frame(rng, T, pop, plan.day, plan.prompts, rows, order, user, session_ids, call_ids, ms_of_day)
    if T.levers:
        calls = calls.with_columns(lever_columns(T, f, k, sess, status, cache_hit, capped, L, session_ids, call_ids,
                                                 order))
    hour = (t // 3600).astype(np.int8)
    usage = usage_frame(hour, model, owner, batch, tokens, billed)
    hidden_rows = hidden_tokens.pop("_rows")
    hidden = usage_frame(hour, model, owner, batch, hidden_tokens, hidden_rows)
    outcomes = outcomes_frame(rng, T, pop, plan.day, fs, starts + L - 1, t, lat, t1, user, session_ids, call_ids)
    decoys = None if pairs is None else pl.DataFrame(
        [call_ids.gather(pairs[0]).alias("call_id_a"), call_ids.gather(pairs[1]).alias("call_id_b")])
    runaways = session_ids.head(len(plan.runaways)).to_list() if plan.runaways else []
    return Chunk(calls=calls, outcomes=outcomes, usage=usage, hidden=hidden, decoys=decoys, runaway_sessions=runaways)


def _plant_decoys(rng, T: Tables, count: int, f, session_len, billed, tokens, t, t1):
    """Make ``count`` pairs of different billed embedding calls look alike: same tokens, 0.25-1.2 s apart.

    The second call of each pair is the only call of its session, so moving it in time moves nothing
    else. Returns the (first, second) row indices of the pairs.
    """
    candidates = np.flatnonzero(billed & (f == T.decoy_feature) & (session_len == 1))
    count = min(count, candidates.size // 2)
    chosen = rng.choice(candidates, size=2 * count, replace=False)
    a, b = chosen[:count], chosen[count:]
    for c, values in tokens.items():
        values[b] = values[a]
    t[b] = np.minimum(t[a] + rng.uniform(0.25, 1.2, count), t1 - 0.001)
    return a, b


def _tokens(rng, T: Tables, plan: ChunkPlan, f, k, sess, root, batch, status, billed, fs):
    n = f.size
    mult = np.array([p[1] for p in plan.prompts])[f]
    z_in, z_out = rng.standard_normal(n)[root], rng.standard_normal(n)[root]
    inp = T.in_median[f] * np.exp(T.in_sigma[f] * z_in) * mult * (1.0 + T.history_growth[f] * k[root])
    long_ctx = (rng.random(n) < T.long_context[f])[root]
    inp = np.where(long_ctx, rng.uniform(220_000, 450_000, n)[root], inp)
    inp = np.maximum(np.rint(inp), 8).astype(np.int64)

    prefix = np.minimum(np.rint(T.prefix[f] * mult).astype(np.int64), inp - 1)
    hit = rng.random(n) < T.cache_hit[f]
    kind = T.cache_kind[f]
    openai_c = (prefix // 128) * 128
    cached = np.where((kind == 1) & hit & (openai_c >= 1024) & ~batch, openai_c, 0)
    fresh = np.where(T.shared_prefix[f], False, k == 0)  # a session's own context is written on its first call
    writes = (kind == 2) & (fresh | (rng.random(n) < np.where(T.shared_prefix[f], 0.03, 0.08)))
    cached = np.where((kind == 2) & ~writes & hit, prefix, cached)
    cached = np.where((kind == 3) & hit & (inp >= 2048), (prefix * 0.9).astype(np.int64), cached)
    cw = np.where(writes, prefix, 0)
    ttl_1h = rng.random(fs.size) < T.ttl_1h[fs]
    w1h = np.where(ttl_1h[sess], cw, 0)

    visible = np.where(T.is_embedding[f], 0, np.maximum(np.rint(T.out_median[f] * np.exp(T.out_sigma[f] * z_out)), 1))
    think = (rng.random(n) < T.think_p[f])[root]
    reasoning = np.where(think, np.rint(visible * rng.uniform(T.think_lo[f], T.think_hi[f])), 0).astype(np.int64)
    out = visible.astype(np.int64) + reasoning
    capped = np.zeros(n, dtype=bool)
    if T.levers:  # a longer answer after a prompt change; a cap cuts what reaches it
        out = np.rint(out * np.array([p[2] for p in plan.prompts])[f]).astype(np.int64)
        capped = (T.out_cap[f] > 0) & (out >= T.out_cap[f])
        out = np.where(capped, T.out_cap[f], out)
    aborted = status == ABORTED
    out = np.where(aborted, np.ceil(out * rng.uniform(0.05, 0.6, n)).astype(np.int64), out)
    reasoning = np.minimum(reasoning, out)

    tokens = {
        "input_tokens": inp, "cached_input_tokens": cached, "cache_write_tokens": cw,
        "cache_write_1h_tokens": w1h, "output_tokens": out, "reasoning_tokens": reasoning,
    }
    tokens = {c: np.where(billed, v, 0).astype(np.int64) for c, v in tokens.items()}
    tokens["_long_context"] = long_ctx & billed

    # Planted gap 1: on incident days the SDK silently re-sent some requests; the provider billed both.
    hidden_rows = np.zeros(n, dtype=bool)
    if plan.incident:
        eligible = billed & (f == T.retry_feature)
        hidden_rows = eligible & (rng.random(n) < GAPS.retry_share)
        if eligible.any() and not hidden_rows.any():  # tiny samples still get their planted gap
            hidden_rows[np.argmax(eligible)] = True
    partial = np.ceil(tokens["output_tokens"] * rng.uniform(0.2, 1.0, n)).astype(np.int64)
    hidden = {c: np.where(hidden_rows, v, 0) for c, v in tokens.items() if not c.startswith("_")}
    hidden["output_tokens"] = np.where(hidden_rows, partial, 0)
    hidden["reasoning_tokens"] = np.minimum(hidden["reasoning_tokens"], hidden["output_tokens"])
    hidden["_long_context"] = tokens["_long_context"]
    hidden["_rows"] = hidden_rows
    return tokens, hidden, capped & billed & (status != ABORTED)


def _latency(rng, T: Tables, f, model, status, cache_hit, batch, out):
    n = f.size
    ttft = np.exp(rng.normal(np.log(550.0), 0.35, n))
    lat = ttft + out * T.model_ms_per_token[model] * rng.uniform(0.7, 1.3, n)
    lat = np.where(T.is_embedding[f], ttft * 0.2, lat)
    lat = np.select(
        [cache_hit, batch, status == RATE_LIMITED, status == TIMEOUT, status == ERROR],
        [rng.uniform(3, 40, n), rng.uniform(0.3, 10.0, n) * 3_600_000, rng.uniform(30, 300, n),
         np.full(n, 30_000.0), rng.uniform(80, 2500, n)],
        lat,
    )
    return np.rint(lat).astype(np.int64)
