"""The mixed organisation's call logs: each call written by every log source that sees it.

Which sources see a call comes from its route (``Feature.observers``/``Route.observers``), with
two exceptions real deployments have: an app's own response-cache hit never reaches the LiteLLM
proxy (only the app's span sees it), and ``PROXY_ONLY`` of the Azure triage calls come from an
untraced job that calls the proxy directly (only LiteLLM sees them).

Ids as the sources write them: a provider response id (``chatcmpl-…``, ``msg_01…``, Gemini's
``responseId``) exists only when the provider answered; failed calls (error, rate limited,
timeout) and every embedding have none, and LiteLLM then writes its own uuid as ``request_id``.
Bedrock calls carry Bedrock's ``x-amzn-RequestId`` (a uuid), which the invocation logs repeat.
The proxy starts a request a little after (or, clocks being what they are, before) the app's
span: ``PROXY_JITTER_MS``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.sample.ids import hex_ids, uuid4s
from pipelines.sample.orgs import ALL_MODELS
from pipelines.sample.otlp import OTEL_PROVIDER, SCOPE, SERVER
from pipelines.sample.tables import PROVIDERS, Tables

BITS = {"canonical": 1, "otlp": 2, "litellm": 4, "langfuse": 8}
CANONICAL, OTLP, LITELLM, LANGFUSE = (BITS[k] for k in ("canonical", "otlp", "litellm", "langfuse"))
TRACED = OTLP | LITELLM
PROXY_ONLY = 0.08
PROXY_JITTER_MS = (25.0, 60.0, -200, 300)  # normal(mean, sd), clipped to [lo, hi]
FAILED = ("error", "rate_limited", "timeout")
GEMINI_API = {"_otel_provider": "gcp.gemini", "_server": "generativelanguage.googleapis.com",
              "_scope": SCOPE["google"]}


def observe(calls: pl.DataFrame, T: Tables, rng: np.random.Generator) -> pl.DataFrame:
    """The chunk's calls with ``_seen`` (bit mask of BITS), the ids each source writes, and span overrides."""
    n = calls.height
    masks = np.array([sum(BITS[o] for o in obs) for obs in T.var_observers], dtype=np.int8)
    model = calls["_model"].to_numpy()
    provider = T.model_provider[model]
    cache_hit = calls["response_cache_hit"].to_numpy()
    billed = calls["input_tokens"].to_numpy() > 0
    seen = masks[calls["_variant"].to_numpy()]
    traced = seen == TRACED
    proxy_only = traced & (provider == PROVIDERS.index("azure")) & ~cache_hit & (rng.random(n) < PROXY_ONLY)
    seen = np.where(proxy_only, LITELLM, np.where(traced & cache_hit, OTLP, seen))
    aws = (provider == PROVIDERS.index("aws")) & billed
    mean, sd, lo, hi = PROXY_JITTER_MS
    jitter = np.clip(np.rint(rng.normal(mean, sd, n)), lo, hi).astype(np.int64)
    gemini_api = np.array([m.via == "gemini_api" for m in ALL_MODELS])[model]
    rid = pl.col("provider_request_id")
    out = calls.with_columns(
        pl.Series("_seen", seen),
        pl.when(pl.Series(aws)).then(uuid4s(rng, n)).when(pl.col("status").cast(pl.String).is_in(FAILED))
        .then(None).otherwise(rid).alias("provider_request_id"),
        hex_ids(rng, n, 16, name="_trace"),
        hex_ids(rng, n, 8, name="_span"),
        uuid4s(rng, n, "_proxy_uuid"),
        (pl.col("_ms") + pl.Series(jitter)).alias("_litellm_ms"),
    ).with_columns(pl.coalesce(rid, pl.col("_proxy_uuid")).alias("_litellm_id"))
    name = pl.col("provider").cast(pl.String)
    overrides = {"_otel_provider": OTEL_PROVIDER, "_server": SERVER, "_scope": SCOPE}
    return out.with_columns(
        pl.when(pl.Series(gemini_api)).then(pl.lit(GEMINI_API[k]))
        .otherwise(name.replace_strict(mapping, default=None, return_dtype=pl.String)).alias(k)
        for k, mapping in overrides.items()
    )


def seen_by(calls: pl.DataFrame, bit: int) -> pl.DataFrame:
    return calls.filter((pl.col("_seen") & bit) != 0)


def pairs(calls: pl.DataFrame) -> tuple[int, pl.DataFrame]:
    """Calls both the span and the proxy saw: how many share a response id, and the id-less ones.

    The id-less ones are the merge truth: one logical call (``call_id``) seen as the span
    ``otel_span_id`` and the LiteLLM row ``litellm_request_id`` (kind ``embedding``: an embedding's
    response has no id; ``failed``: no response at all, zero tokens).
    """
    both = calls.filter(pl.col("_seen") == TRACED)
    idless = both.filter(pl.col("provider_request_id").is_null())
    return both.height - idless.height, idless.select(
        "call_id",
        pl.when(pl.col("status").cast(pl.String).is_in(FAILED)).then(pl.lit("failed"))
        .otherwise(pl.lit("embedding")).alias("kind"),
        pl.col("_span").alias("otel_span_id"),
        pl.col("_litellm_id").alias("litellm_request_id"),
        (pl.col("_litellm_ms") - pl.col("_ms")).alias("litellm_minus_span_ms"),
    )
