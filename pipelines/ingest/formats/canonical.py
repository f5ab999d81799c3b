"""tokenbooks' own formats: canonical call logs and outcome events (JSON lines).

Field meanings: ``schemas/inputs/call_log.md`` and ``schemas/inputs/outcome_event.md``.
Recognised by the first record carrying ``call_id`` + ``occurred_at`` + token
fields (calls) or ``outcome_id`` + ``outcome`` (outcomes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.ingest.formats.vocabulary import FINISH_REASONS
from pipelines.db import connect
from pipelines.ingest.formats.base import InputFormat, ParseContext, Parsed, Sample, split_errors
from pipelines.ingest.formats.fields import Field
from pipelines.ingest.formats.lines import jsonl_records

CALL_FIELDS = [
    Field("call_id", "$.call_id", required=True),
    Field("occurred_at", "$.occurred_at", "TIMESTAMPTZ", required=True),
    Field("provider", "$.provider", required=True),
    Field("model_raw", "$.model", required=True),
    Field("app", "$.app"),
    Field("feature", "$.feature"),
    Field("user_id", "$.user_id"),
    Field("tenant_id", "$.tenant_id"),
    Field("session_id", "$.session_id"),
    Field("prompt_version", "$.prompt_version"),
    Field("input_tokens", "$.input_tokens", "BIGINT", required=True),
    Field("cached_input_tokens", "$.cached_input_tokens", "BIGINT"),
    Field("cache_write_tokens", "$.cache_write_tokens", "BIGINT"),
    Field("cache_write_1h_tokens", "$.cache_write_1h_tokens", "BIGINT"),
    Field("output_tokens", "$.output_tokens", "BIGINT", required=True),
    Field("reasoning_tokens", "$.reasoning_tokens", "BIGINT"),
    Field("is_batch", "$.is_batch", "BOOLEAN"),
    Field("status", "$.status"),
    Field("attempt", "$.attempt", "INTEGER"),
    Field("latency_ms", "$.latency_ms", "BIGINT"),
    Field("response_cache_hit", "$.response_cache_hit", "BOOLEAN"),
    Field("provider_request_id", "$.provider_request_id"),
    Field("project_id", "$.project_id"),
    Field("workspace_id", "$.workspace_id"),
    Field("api_key_id", "$.api_key_id"),
    Field("max_output_tokens", "$.max_output_tokens", "BIGINT"),
    Field("finish_reason", "$.finish_reason"),
    Field("trace_id", "$.trace_id"),
    Field("parent_call_id", "$.parent_call_id"),
]

OUTCOME_FIELDS = [
    Field("outcome_id", "$.outcome_id", required=True),
    Field("occurred_at", "$.occurred_at", "TIMESTAMPTZ", required=True),
    Field("app", "$.app"),
    Field("feature", "$.feature"),
    Field("user_id", "$.user_id"),
    Field("session_id", "$.session_id"),
    Field("call_id", "$.call_id"),
    Field("outcome", "$.outcome", required=True),
    Field("value", "$.value", "DECIMAL(38,12)"),
]


# What a call log may leave out, and the value that stands for it.
CALL_DEFAULTS = {
    "cached_input_tokens": 0, "cache_write_tokens": 0, "cache_write_1h_tokens": 0, "reasoning_tokens": 0,
    "is_batch": False, "response_cache_hit": False, "status": "ok", "attempt": 1,
}


def _read(path: Path, fields: list[Field], ctx: ParseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = connect(ctx.settings, keep_order=True)  # a piece's lines held by DuckDB spill past the memory limit
    try:
        return split_errors(jsonl_records(con, path, fields, ctx.lines))
    finally:
        con.close()


def _finish_reason(raw: pl.Expr) -> pl.Expr:
    """Canonical finish reason (``attributes.FINISH_REASONS``); an unknown one as written, blank as null."""
    trimmed = raw.str.strip_chars()
    known = trimmed.str.to_lowercase().replace_strict(FINISH_REASONS, default=None, return_dtype=pl.String)
    return pl.coalesce(known, pl.when(trimmed != "").then(trimmed)).alias("finish_reason")


def _first(sample: Sample) -> dict:
    obj = sample.first_json
    return obj if isinstance(obj, dict) else {}


@dataclass(frozen=True)
class TextRule:
    """A text column's rewrite: a Polars expression, applied to every row here and to each distinct value by the
    one-pass landing (``pipelines.ingest.clean``), so both write the same text; ``ascii_sql``, the same rewrite in
    DuckDB SQL over ``{}``, exact for ASCII text only (DuckDB's lower() and Polars' to_lowercase part beyond it)."""

    polars: Callable[[pl.Expr], pl.Expr]
    ascii_sql: str | None = None


CALL_TEXT = {"provider": TextRule(lambda c: c.str.to_lowercase(), "lower({})"), "finish_reason": TextRule(_finish_reason)}


class CanonicalCalls(InputFormat):
    name = "tokenbooks_calls"
    table = "calls"
    description = "tokenbooks canonical call log (JSON lines, one LLM call per line)"
    line_records = True
    # A clean file lands in one DuckDB pass (``pipelines.ingest.clean``): its fields, defaults and text columns.
    fields, defaults, text = CALL_FIELDS, CALL_DEFAULTS, CALL_TEXT

    def sniff(self, sample: Sample) -> bool:
        first = _first(sample)
        return {"call_id", "occurred_at", "model", "input_tokens"} <= first.keys()

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = _read(path, CALL_FIELDS, ctx)
        good = good.with_columns(
            *(pl.col(c).fill_null(v) for c, v in CALL_DEFAULTS.items()),
            *(rule.polars(pl.col(c)).alias(c) for c, rule in CALL_TEXT.items()),
        )
        return Parsed(rows=good, quarantine=quarantine)


class CanonicalOutcomes(InputFormat):
    name = "tokenbooks_outcomes"
    table = "outcomes"
    description = "tokenbooks outcome events (JSON lines)"
    line_records = True
    fields, defaults, text = OUTCOME_FIELDS, {}, {}  # a clean file lands in one DuckDB pass, as a call log does

    def sniff(self, sample: Sample) -> bool:
        first = _first(sample)
        return {"outcome_id", "outcome", "occurred_at"} <= first.keys()

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = _read(path, OUTCOME_FIELDS, ctx)
        return Parsed(rows=good, quarantine=quarantine)
