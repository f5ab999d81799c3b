"""The LiteLLM proxy's ``LiteLLM_SpendLogs`` table, exported as CSV (as ``\\copy … to csv header`` writes it).

One row per request through the proxy. ``request_id`` is the provider's response id, or
LiteLLM's own uuid when there is none (embeddings, failures). ``model`` is what the proxy sent
upstream (``azure/triage-prod`` for the Azure deployment), ``model_group`` the proxy's public
alias. ``prompt_tokens`` counts the OpenAI way (cache reads and writes included),
``completion_tokens`` includes reasoning; the cache and reasoning split is in
``metadata.additional_usage_values``; what the app attached is in ``metadata.spend_logs_metadata``.
``spend`` is LiteLLM's own float estimate. ``startTime``/``endTime`` have no zone (UTC).
Prompts and responses are not stored (``store_prompts_in_spend_logs`` off): ``{}``.
"""

from __future__ import annotations

from datetime import date
from typing import BinaryIO

import numpy as np
import polars as pl

from pipelines.sample.listprice import unit_prices
from pipelines.sample.org_mixed import AZURE_DEPLOYMENT, AZURE_ENDPOINT
from pipelines.sample.orgs import ALL_MODELS

_VERTEX = ("https://us-central1-aiplatform.googleapis.com/v1/projects/docs-search-prod/locations/us-central1/"
           "publishers/google/models/")
# Model.ref -> (model as sent upstream, model_group, custom_llm_provider, api_base, model_id)
UPSTREAM = {
    "text-embedding-3-small": ("text-embedding-3-small", "text-embedding-3-small", "openai",
                               "https://api.openai.com/v1", "4b1f0c9e"),
    "claude-haiku-4-5": ("claude-haiku-4-5-20251001", "claude-haiku-4-5", "anthropic",
                         "https://api.anthropic.com/v1/messages", "a83d27c1"),
    "gemini-2.5-flash": ("gemini-2.5-flash", "gemini-2.5-flash", "vertex_ai", _VERTEX + "gemini-2.5-flash", "c0e5d912"),
    "gemini-2.5-pro": ("gemini-2.5-pro", "gemini-2.5-pro", "vertex_ai", _VERTEX + "gemini-2.5-pro", "c0e5d913"),
    "gemini-api/gemini-2.5-flash": ("gemini-2.5-flash", "gemini-flash-studio", "gemini",
                                    "https://generativelanguage.googleapis.com/v1beta", "7d21be04"),
    "azure/gpt-4o-mini": (f"azure/{AZURE_DEPLOYMENT}", "gpt-4o-mini", "azure", f"https://{AZURE_ENDPOINT}/",
                          "e9a4f3b8"),
}
# app -> (hashed virtual key, key alias, team)
KEYS = {
    "docs-search": ("5e0c2f7a9d1b4c3e8f6a0b2d4c6e8f1a3b5d7f9e1c3a5b7d9f0e2c4a6b8d0f2e", "docs-search-prod",
                    "team-search"),
    "support-bot": ("9a7c5e3b1d0f2e4c6a8b0d2f4e6c8a0b2d4f6e8c0a2b4d6f8e0c2a4b6d8f0e2c", "support-triage-prod",
                    "team-support"),
}
ERRORS = {  # status -> (error_code, error_class, message)
    "rate_limited": ("429", "RateLimitError", "litellm.RateLimitError: Rate limit reached for requests"),
    "timeout": ("408", "Timeout", "litellm.Timeout: Connection timed out after 30.0 seconds."),
    "error": ("500", "InternalServerError", "litellm.InternalServerError: The server had an error"),
}
COLUMNS = ["request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens", "completion_tokens",
           "startTime", "endTime", "completionStartTime", "model", "model_id", "model_group", "custom_llm_provider",
           "api_base", "user", "metadata", "cache_hit", "cache_key", "request_tags", "team_id", "end_user",
           "requester_ip_address", "session_id", "status", "messages", "response"]
_TS = "%Y-%m-%d %H:%M:%S%.3f"


def _lookup(col: str, mapping: dict, i: int) -> pl.Expr:
    return pl.col(col).replace_strict({k: v[i] for k, v in mapping.items()}, default=None, return_dtype=pl.String)


def _fmt(template: str, *columns: str | pl.Expr) -> pl.Expr:
    """``template`` with each ``{}`` replaced by a column (polars' own ``format`` rejects JSON braces)."""
    pieces = template.split("{}")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for col, piece in zip(columns, pieces[1:]):
        parts += [(pl.col(col) if isinstance(col, str) else col).cast(pl.String), pl.lit(piece)]
    return pl.concat_str(parts)


def _ts(ms: pl.Expr) -> pl.Expr:
    return pl.from_epoch(ms, time_unit="ms").dt.strftime(_TS)


def float_prices(day: date) -> dict[str, np.ndarray]:
    """List USD per token of each kind, per model index: what an estimate (LiteLLM's, Langfuse's) multiplies."""
    kinds = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
    table = [unit_prices(m.provider, m.priced_as, day, False) for m in ALL_MODELS]
    return {k: np.array([float(p[k]) for p in table]) for k in kinds}


def estimate(calls: pl.DataFrame, prices: dict[str, np.ndarray]) -> list[pl.Series]:
    """A float list-price estimate per call: ``_estimate_in`` (all input kinds), ``_estimate_out``, ``_estimate``."""
    m = calls["_model"].to_numpy()
    c = {k: calls[k].to_numpy() for k in ("input_tokens", "cached_input_tokens", "cache_write_tokens",
                                          "cache_write_1h_tokens", "output_tokens")}
    usd_in = ((c["input_tokens"] - c["cached_input_tokens"] - c["cache_write_tokens"]) * prices["input"][m]
              + c["cached_input_tokens"] * prices["cache_read"][m]
              + (c["cache_write_tokens"] - c["cache_write_1h_tokens"]) * prices["cache_write_5m"][m]
              + c["cache_write_1h_tokens"] * prices["cache_write_1h"][m])
    usd_out = c["output_tokens"] * prices["output"][m]
    return [pl.Series("_estimate_in", np.round(usd_in, 10)), pl.Series("_estimate_out", np.round(usd_out, 10)),
            pl.Series("_estimate", np.round(usd_in + usd_out, 10))]


def write_litellm(calls: pl.DataFrame, prices: dict[str, np.ndarray], out: BinaryIO, header: bool) -> int:
    """Append the calls the proxy saw as ``LiteLLM_SpendLogs`` CSV rows, in start-time order; return rows."""
    refs = [m.ref for m in ALL_MODELS]
    df = calls.with_columns(
        pl.col(c).cast(pl.String) for c, t in calls.schema.items() if isinstance(t, pl.Enum)
    ).with_columns(
        pl.Series("_ref", [refs[i] for i in calls["_model"].to_list()], dtype=pl.String),
        *estimate(calls, prices),
    ).sort("_litellm_ms", maintain_order=True)
    ok = ~pl.col("status").is_in(list(ERRORS))
    anthropic = pl.col("provider") == "anthropic"
    embedding = pl.col("_operation") == "embeddings"
    usage = (pl.when(embedding).then(pl.lit("{}"))
             .when(anthropic).then(_fmt('{"cache_read_input_tokens": {}, "cache_creation_input_tokens": {}}',
                                             "cached_input_tokens", "cache_write_tokens"))
             .otherwise(_fmt('{"prompt_tokens_details": {"cached_tokens": {}}, '
                                  '"completion_tokens_details": {"reasoning_tokens": {}}}',
                                  "cached_input_tokens", "reasoning_tokens")))
    prompt = pl.when(pl.col("prompt_version").is_null()).then(pl.lit("null")).otherwise(
        pl.lit('"') + pl.col("prompt_version") + pl.lit('"'))
    error = _fmt(', "error_information": {"error_code": "{}", "error_class": "{}", "error_message": "{}"}',
                      _lookup("status", ERRORS, 0), _lookup("status", ERRORS, 1), _lookup("status", ERRORS, 2))
    metadata = pl.concat_str([
        pl.lit('{"status": "'), pl.when(ok).then(pl.lit("success")).otherwise(pl.lit("failure")),
        pl.lit('", "user_api_key_alias": "'), _lookup("app", KEYS, 1),
        pl.lit('", "user_api_key_team_id": "'), _lookup("app", KEYS, 2),
        pl.lit('", "spend_logs_metadata": {"app": "'), pl.col("app"), pl.lit('", "feature": "'), pl.col("feature"),
        pl.lit('", "tenant_id": "'), pl.col("tenant_id"), pl.lit('", "prompt_version": '), prompt,
        pl.lit('}, "additional_usage_values": '), usage,
        pl.when(ok).then(pl.lit("")).otherwise(error), pl.lit("}"),
    ])
    start, latency = pl.col("_litellm_ms"), pl.col("latency_ms")
    rows = df.select(
        pl.col("_litellm_id").alias("request_id"),
        pl.when(embedding).then(pl.lit("aembedding")).otherwise(pl.lit("acompletion")).alias("call_type"),
        _lookup("app", KEYS, 0).alias("api_key"),
        pl.when(ok).then(pl.col("_estimate")).otherwise(0.0).alias("spend"),
        (pl.col("input_tokens") + pl.col("output_tokens")).alias("total_tokens"),
        pl.col("input_tokens").alias("prompt_tokens"),
        pl.col("output_tokens").alias("completion_tokens"),
        _ts(start).alias("startTime"),
        _ts(start + pl.max_horizontal(latency - 20, 1)).alias("endTime"),
        pl.when(embedding | ~ok).then(None).otherwise(_ts(start + latency * 3 // 10)).alias("completionStartTime"),
        _lookup("_ref", UPSTREAM, 0).alias("model"),
        _lookup("_ref", UPSTREAM, 4).alias("model_id"),
        _lookup("_ref", UPSTREAM, 1).alias("model_group"),
        _lookup("_ref", UPSTREAM, 2).alias("custom_llm_provider"),
        _lookup("_ref", UPSTREAM, 3).alias("api_base"),
        pl.lit("default_user_id").alias("user"),
        metadata.alias("metadata"),
        pl.lit("False").alias("cache_hit"),
        pl.lit(None, pl.String).alias("cache_key"),
        _fmt('["feature:{}"]', "feature").alias("request_tags"),
        _lookup("app", KEYS, 2).alias("team_id"),
        pl.col("user_id").alias("end_user"),
        pl.lit("10.20.3.17").alias("requester_ip_address"),
        pl.col("session_id"),
        pl.when(ok).then(pl.lit("success")).otherwise(pl.lit("failure")).alias("status"),
        pl.lit("{}").alias("messages"),
        pl.lit("{}").alias("response"),
    )
    rows.write_csv(out, include_header=header)
    return rows.height
