"""A chunk's arrays as polars frames: the canonical call rows, billed-usage aggregates, outcome events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines.sample.ids import hex_ids, iso_ms, pick, prefixed_base62
from pipelines.sample.orgs import ALL_MODELS, ALL_OWNERS
from pipelines.sample.tables import ABORTED, ERROR, OK, PROVIDERS, STATUSES, Population, Tables, day_epoch_ms

CALL_COLUMNS = [
    "call_id", "occurred_at", "provider", "model", "app", "feature", "user_id", "tenant_id", "session_id",
    "prompt_version", "input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "is_batch", "status", "attempt", "latency_ms", "response_cache_hit",
    "provider_request_id", "project_id", "workspace_id", "api_key_id",
]
TOKEN_COLUMNS = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                 "output_tokens", "reasoning_tokens"]
USAGE_KEYS = ["hour", "model", "owner", "is_batch", "long_context"]
# Besides the canonical columns, a chunk's call frame carries what the other log writers need.
HELPER_COLUMNS = ["_ms", "_response_model", "_operation", "_model", "_variant"]

@dataclass
class Rows:
    """Per-call arrays of a chunk, in generation (session) order."""

    feature: np.ndarray
    variant: np.ndarray
    model: np.ndarray
    owner: np.ndarray
    session: np.ndarray
    batch: np.ndarray
    status: np.ndarray
    attempt: np.ndarray
    latency: np.ndarray
    cache_hit: np.ndarray
    tokens: dict[str, np.ndarray]


def calls_frame(rng: np.random.Generator, T: Tables, pop: Population, day: date, prompts, rows: Rows,
                order: np.ndarray, user: np.ndarray, session_ids: pl.Series, call_ids: pl.Series,
                ms_of_day: np.ndarray) -> pl.DataFrame:
    """The chunk's calls as canonical columns, in time order (``order``), plus helper columns (``_…``)."""
    f, var, model, owner, sess = (rows.feature[order], rows.variant[order], rows.model[order], rows.owner[order],
                                  rows.session[order])
    status, cache_hit, tokens = rows.status[order], rows.cache_hit[order], rows.tokens
    provider = T.model_provider[model]
    has_response = ((status == OK) | (status == ABORTED) | (status == ERROR)) & ~cache_hit & ~T.is_embedding[f]
    # Response ids as each provider writes them: chatcmpl-…, msg_01…, Gemini's responseId.
    rid = prefixed_base62(rng, np.where(has_response, provider, len(PROVIDERS)),
                          [("chatcmpl-", 29), ("msg_01", 22), ("", 22), ("chatcmpl-", 29), ("", 36), None],
                          "provider_request_id")
    df = pl.DataFrame([
        call_ids.gather(order),
        iso_ms(day, ms_of_day[order], "occurred_at"),
        pick(PROVIDERS, provider, "provider"),
        pick(T.var_raw, var, "model"),
        pick([x.app for x in T.features], f, "app"),
        pick([x.name for x in T.features], f, "feature"),
        pick(pop.user_ids, user[sess], "user_id"),
        pick(pop.tenant_ids, pop.user_tenant[user[sess]], "tenant_id"),
        session_ids.gather(sess),
        pick([p[0] for p in prompts], f, "prompt_version"),
        *[pl.Series(c, tokens[c][order]) for c in TOKEN_COLUMNS],
        pl.Series("is_batch", rows.batch[order]),
        pick(STATUSES, status, "status"),
        pl.Series("attempt", rows.attempt[order].astype(np.int32)),
        pl.Series("latency_ms", rows.latency[order]),
        pl.Series("response_cache_hit", cache_hit),
        rid,
        pick([o.project_id for o in ALL_OWNERS], owner, "project_id"),
        pick([o.workspace_id for o in ALL_OWNERS], owner, "workspace_id"),
        pick([o.api_key_id for o in ALL_OWNERS], owner, "api_key_id"),
        pl.Series("_ms", day_epoch_ms(day) + ms_of_day[order]),
        pick([m.billed_as for m in ALL_MODELS], model, "_response_model"),
        pick([m.operation for m in ALL_MODELS], model, "_operation"),
        pl.Series("_model", model),
        pl.Series("_variant", var),
    ])
    return df.select(CALL_COLUMNS + HELPER_COLUMNS)


def usage_frame(hour, model, owner, batch, tokens: dict[str, np.ndarray], rows: np.ndarray) -> pl.DataFrame:
    """Billed usage of the selected rows, summed per ``USAGE_KEYS``."""
    df = pl.DataFrame({
        "hour": hour[rows], "model": model[rows], "owner": owner[rows], "is_batch": batch[rows],
        "long_context": tokens["_long_context"][rows],
        **{c: tokens[c][rows] for c in TOKEN_COLUMNS},
    })
    requests = pl.len().cast(pl.Int64).alias("requests")
    return df.group_by(USAGE_KEYS).agg(requests, *[pl.col(c).sum() for c in TOKEN_COLUMNS])


def outcomes_frame(rng: np.random.Generator, T: Tables, pop: Population, day: date, fs, last, t, lat, t1, user,
                   session_ids: pl.Series, call_ids: pl.Series) -> pl.DataFrame:
    """Outcome events for a share of the sessions, shortly after their last call."""
    chosen = np.flatnonzero(rng.random(fs.size) < T.outcome_p[fs])
    m = chosen.size
    when = np.minimum(t[last[chosen]] + lat[last[chosen]] / 1000.0 + rng.exponential(600.0, m), t1 - 0.001)
    ms_of_day = np.floor(when * 1000.0).astype(np.int64)
    order = np.argsort(ms_of_day, kind="stable")
    chosen, ms_of_day = chosen[order], ms_of_day[order]
    f = fs[chosen]
    money = np.array([(x.outcome or ("", 0, ""))[2] == "money" for x in T.features])[f]
    value = np.where(money, np.round(np.exp(rng.normal(np.log(8000.0), 1.0, m)), 2), 1.0)
    linked = rng.random(m) < 0.6  # the rest name only the session
    return pl.DataFrame([
        hex_ids(rng, m, 12, "out_", "outcome_id"),
        iso_ms(day, ms_of_day, "occurred_at"),
        pick([x.app for x in T.features], f, "app"),
        pick([x.name for x in T.features], f, "feature"),
        pick(pop.user_ids, user[chosen], "user_id"),
        session_ids.gather(chosen),
        call_ids.gather(last[chosen]).set(pl.Series(~linked), None) if m else call_ids.gather(last[chosen]),
        pick([(x.outcome or ("",))[0] for x in T.features], f, "outcome"),
        pl.Series("value", value),
    ])
