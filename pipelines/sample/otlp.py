"""The same calls as OpenTelemetry GenAI client spans, in OTLP/JSON as the Collector's file exporter writes it.

One line is one ``TracesData`` object holding up to ``SPANS_PER_LINE`` spans, grouped
into ``resourceSpans`` per app (``service.name``) and ``scopeSpans`` per
instrumentation library. Attribute names follow the current GenAI semantic
conventions (``gen_ai.provider.name``, ``gen_ai.usage.cache_read.input_tokens``, …);
int64 values are JSON strings, as OTLP/JSON requires. Values are ids and names
from ``org.py`` (no quotes or backslashes), so strings are built without escaping.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import polars as pl

from pipelines.sample.ids import hex_ids

SPANS_PER_LINE = 1000
OTEL_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "google": "gcp.vertex_ai", "azure": "azure.ai.openai",
                 "aws": "aws.bedrock"}
SCOPE = {
    "openai": "opentelemetry.instrumentation.openai_v2",
    "anthropic": "opentelemetry.instrumentation.anthropic",
    "google": "opentelemetry.instrumentation.google_genai",
    "azure": "opentelemetry.instrumentation.openai_v2",
    "aws": "opentelemetry.instrumentation.botocore",
}
SERVER = {"openai": "api.openai.com", "anthropic": "api.anthropic.com",
          "google": "us-central1-aiplatform.googleapis.com", "azure": "support-aoai-prod.openai.azure.com",
          "aws": "bedrock-runtime.us-east-1.amazonaws.com"}
ERROR_TYPE = {"rate_limited": "429", "timeout": "timeout", "error": "500", "aborted": "cancelled"}


def _s(key: str, value: pl.Expr) -> pl.Expr:
    return pl.lit(f'{{"key":"{key}","value":{{"stringValue":"') + value + pl.lit('"}}')


def _i(key: str, value: pl.Expr) -> pl.Expr:
    return pl.lit(f'{{"key":"{key}","value":{{"intValue":"') + value.cast(pl.String) + pl.lit('"}}')


def _b(key: str, value: pl.Expr) -> pl.Expr:
    return pl.lit(f'{{"key":"{key}","value":{{"boolValue":') + value.cast(pl.String) + pl.lit("}}")


def _opt(cond: pl.Expr, attr: pl.Expr) -> pl.Expr:
    return pl.when(cond).then(pl.lit(",") + attr).otherwise(pl.lit(""))


def _map(col: str, mapping: dict[str, str]) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=None, return_dtype=pl.String)


def write_otlp(calls: pl.DataFrame, rng: np.random.Generator, out: BinaryIO, batch_lines: int = 50,
               call_id: bool = True) -> int:
    """Write a chunk of calls (sorted by time) as OTLP/JSON lines of ``SPANS_PER_LINE`` spans; return lines written.

    ``call_id=False`` leaves out the app's own call id (``app.call_id``): the spans then share no id
    with other log sources but the provider's response id. Columns ``_trace``/``_span`` (ids) and
    ``_otel_provider``/``_server``/``_scope`` (per-call overrides), when the frame has them, are used
    instead of drawing ids and mapping from ``provider``.
    """
    calls = calls.with_columns(pl.col(c).cast(pl.String) for c, t in calls.schema.items() if isinstance(t, pl.Enum))
    step = SPANS_PER_LINE * batch_lines
    lines = 0
    for offset in range(0, calls.height, step):
        part = calls.slice(offset, step)
        text = _spans(part, rng, offset // SPANS_PER_LINE, call_id).get_column("text").str.join("").item()
        out.write(text.encode())
        lines += -(-part.height // SPANS_PER_LINE)
    return lines


def _spans(calls: pl.DataFrame, rng: np.random.Generator, first_line: int, call_id: bool = True) -> pl.DataFrame:
    """One text piece per span; concatenated in order they form whole lines (envelopes opened and closed per row)."""
    n = calls.height
    if "_span" not in calls.columns:
        calls = calls.with_columns(hex_ids(rng, n, 16, name="_trace"), hex_ids(rng, n, 8, name="_span"))
    if "_otel_provider" not in calls.columns:
        calls = calls.with_columns(_map("provider", OTEL_PROVIDER).alias("_otel_provider"),
                                   _map("provider", SERVER).alias("_server"), _map("provider", SCOPE).alias("_scope"))
    df = calls.with_columns(
        (first_line + pl.int_range(n) // SPANS_PER_LINE).alias("_line"),
        (pl.col("_ms") * 1_000_000).cast(pl.String).alias("_start"),
        ((pl.col("_ms") + pl.col("latency_ms")) * 1_000_000).cast(pl.String).alias("_end"),
        pl.col("prompt_version").str.split_exact("@", 1).alias("_prompt"),
        _map("status", ERROR_TYPE).alias("_error"),
    ).sort("_line", "app", "_scope", maintain_order=True)
    used = pl.col("input_tokens") > 0
    has_prompt = pl.col("prompt_version").is_not_null()
    attrs = pl.concat_str([
        _s("gen_ai.operation.name", pl.col("_operation")),
        pl.lit(","), _s("gen_ai.provider.name", pl.col("_otel_provider")),
        pl.lit(","), _s("gen_ai.request.model", pl.col("model")),
        pl.lit(","), _s("server.address", pl.col("_server")),
        _opt(pl.col("provider_request_id").is_not_null(), _s("gen_ai.response.model", pl.col("_response_model"))),
        _opt(pl.col("provider_request_id").is_not_null(), _s("gen_ai.response.id", pl.col("provider_request_id"))),
        _opt(used, _i("gen_ai.usage.input_tokens", pl.col("input_tokens"))),
        _opt(used, _i("gen_ai.usage.output_tokens", pl.col("output_tokens"))),
        _opt(pl.col("cached_input_tokens") > 0,
             _i("gen_ai.usage.cache_read.input_tokens", pl.col("cached_input_tokens"))),
        _opt(pl.col("cache_write_tokens") > 0,
             _i("gen_ai.usage.cache_creation.input_tokens", pl.col("cache_write_tokens"))),
        _opt(pl.col("cache_write_1h_tokens") > 0,
             _i("app.usage.cache_creation_1h.input_tokens", pl.col("cache_write_1h_tokens"))),
        _opt(pl.col("reasoning_tokens") > 0,
             _i("gen_ai.usage.reasoning.output_tokens", pl.col("reasoning_tokens"))),
        pl.lit(","), _s("gen_ai.conversation.id", pl.col("session_id")),
        pl.lit(","), _s("user.id", pl.col("user_id")),
        pl.lit(","), _s("tenant.id", pl.col("tenant_id")),
        pl.lit(","), _s("app.feature", pl.col("feature")),
        _opt(has_prompt, _s("gen_ai.prompt.name", pl.col("_prompt").struct.field("field_0"))),
        _opt(has_prompt, _s("gen_ai.prompt.version", pl.col("_prompt").struct.field("field_1"))),
        _opt(pl.lit(call_id), _s("app.call_id", pl.col("call_id"))),
        pl.lit(","), _i("app.attempt", pl.col("attempt")),
        _opt(pl.col("is_batch"), _b("app.batch", pl.col("is_batch"))),
        _opt(pl.col("response_cache_hit"), _b("app.response_cache_hit", pl.col("response_cache_hit"))),
        _opt(pl.col("_error").is_not_null(), _s("error.type", pl.col("_error"))),
    ])
    status = (pl.when(pl.col("_error").is_null()).then(pl.lit("{}"))
              .otherwise(pl.lit('{"code":2,"message":"') + pl.col("_error") + pl.lit('"}')))
    span = pl.concat_str([
        pl.lit('{"traceId":"'), pl.col("_trace"), pl.lit('","spanId":"'), pl.col("_span"),
        pl.lit('","name":"'), pl.col("_operation"), pl.lit(" "), pl.col("model"),
        pl.lit('","kind":3,"startTimeUnixNano":"'), pl.col("_start"), pl.lit('","endTimeUnixNano":"'), pl.col("_end"),
        pl.lit('","attributes":['), attrs, pl.lit('],"status":'), status, pl.lit("}"),
    ]).alias("span")
    line, app, scope = pl.col("_line"), pl.struct("_line", "app"), pl.struct("_line", "app", "_scope")
    first = {k: e.is_first_distinct() for k, e in (("line", line), ("app", app), ("scope", scope))}
    last = {k: e.is_last_distinct() for k, e in (("line", line), ("app", app), ("scope", scope))}
    resource = (pl.lit('{"resource":{"attributes":[') + _s("service.name", pl.col("app")) + pl.lit(",")
                + _s("deployment.environment.name", pl.lit("production"))
                + pl.lit('],"droppedAttributesCount":0},"scopeSpans":['))
    scope_open = pl.lit('{"scope":{"name":"') + pl.col("_scope") + pl.lit('"},"spans":[')
    before = pl.concat_str([
        pl.when(first["line"]).then(pl.lit('{"resourceSpans":[')).otherwise(pl.lit("")),
        pl.when(first["app"] & ~first["line"]).then(pl.lit(",")).otherwise(pl.lit("")),
        pl.when(first["app"]).then(resource).otherwise(pl.lit("")),
        pl.when(first["scope"] & ~first["app"]).then(pl.lit(",")).otherwise(pl.lit("")),
        pl.when(first["scope"]).then(scope_open).otherwise(pl.lit(",")),
    ])
    after = pl.concat_str([
        pl.when(last["scope"]).then(pl.lit("]}")).otherwise(pl.lit("")),
        pl.when(last["app"]).then(pl.lit("]}")).otherwise(pl.lit("")),
        pl.when(last["line"]).then(pl.lit("]}\n")).otherwise(pl.lit("")),
    ])
    return df.select(pl.concat_str([before, span, after]).alias("text"))
