"""Langfuse generations read back through its v2 observations API (``GET /api/public/v2/observations``).

One file per page, as a puller saves them: ``{"data": [ObservationV2, …], "meta": {"cursor": …}}``;
the last page of the day has no cursor. Pulled with ``type=GENERATION`` and
``fields=core,basic,time,metadata,model,usage,prompt,metrics`` (no ``io``: prompts are never
fetched). An ``ObservationV2`` has no ``model`` field: ``providedModelName`` is what the SDK
reported (the response's dated snapshot; the requested name when the call failed),
``internalModelId`` Langfuse's matched price definition. ``usageDetails`` splits usage the way
Langfuse's integrations do: ``input`` is the uncached input, ``output`` the visible output; cache
reads/writes and reasoning are keys of their own. ``costDetails``/``totalCost`` are Langfuse's
float estimates. The SDK (OTel-based) puts the app's ``service.name`` in
``metadata.resourceAttributes``.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sample.ids import hex_ids
from pipelines.sample.log_litellm import estimate

PAGE_SIZE = 250
PROJECT_ID = "cm4salescopilot0prod01"
MODEL_DEFINITIONS = {"openai": "clx0openai00model0def", "anthropic": "clx0anthro0model0def"}
_TS = "%Y-%m-%dT%H:%M:%S%.3fZ"
STATUS_MESSAGES = {"rate_limited": "Error code: 429 - Rate limit reached for requests",
                   "timeout": "Request timed out.", "error": "Error code: 500 - The server had an error"}


def _ts(ms: pl.Expr) -> pl.Expr:
    return pl.from_epoch(ms, time_unit="ms").dt.strftime(_TS)


def observations(calls: pl.DataFrame, prices: dict[str, np.ndarray], rng: np.random.Generator) -> pl.DataFrame:
    """One encoded ObservationV2 per call (column ``json``), with ``_ms`` and ``id`` for the cursor."""
    n = calls.height
    df = calls.with_columns(
        pl.col(c).cast(pl.String) for c, t in calls.schema.items() if isinstance(t, pl.Enum)
    ).with_columns(hex_ids(rng, n, 8, name="id"), hex_ids(rng, n, 16, name="traceId"),
                   hex_ids(rng, n, 8, name="parentObservationId"), *estimate(calls, prices))
    failed = pl.col("status").is_in(["error", "rate_limited", "timeout"])
    uncached = pl.col("input_tokens") - pl.col("cached_input_tokens") - pl.col("cache_write_tokens")
    visible = pl.col("output_tokens") - pl.col("reasoning_tokens")
    total = pl.col("input_tokens") + pl.col("output_tokens")
    openai_usage = pl.struct(uncached.alias("input"), pl.col("cached_input_tokens").alias("input_cached_tokens"),
                             visible.alias("output"), pl.col("reasoning_tokens").alias("output_reasoning_tokens"),
                             total.alias("total"))
    anthropic_usage = pl.struct(uncached.alias("input"), pl.col("cached_input_tokens").alias("input_cache_read"),
                                pl.col("cache_write_tokens").alias("input_cache_creation"), visible.alias("output"),
                                total.alias("total"))
    usage = pl.when(pl.col("provider") == "anthropic").then(anthropic_usage.struct.json_encode()).otherwise(
        openai_usage.struct.json_encode())
    cost = pl.struct(pl.col("_estimate_in").alias("input"), pl.col("_estimate_out").alias("output"),
                     pl.col("_estimate").alias("total")).struct.json_encode()
    prompt = pl.col("prompt_version").str.split_exact("@v", 1)
    end = pl.col("_ms") + pl.col("latency_ms")
    head = pl.struct(
        "id", "traceId", _ts(pl.col("_ms")).alias("startTime"), _ts(end).alias("endTime"),
        pl.lit(PROJECT_ID).alias("projectId"), "parentObservationId", pl.lit("GENERATION").alias("type"),
        pl.col("feature").alias("name"),
        pl.when(failed).then(pl.lit("ERROR")).otherwise(pl.lit("DEFAULT")).alias("level"),
        pl.col("status").replace_strict(STATUS_MESSAGES, default=None, return_dtype=pl.String).alias("statusMessage"),
        pl.lit(None, pl.String).alias("version"), pl.lit("production").alias("environment"),
        pl.lit(False).alias("bookmarked"), pl.lit(False).alias("public"),
        pl.col("user_id").alias("userId"), pl.col("session_id").alias("sessionId"),
        pl.when(failed).then(None).otherwise(_ts(pl.col("_ms") + pl.col("latency_ms") // 4))
        .alias("completionStartTime"),
        _ts(end + 1200).alias("createdAt"), _ts(end + 1900).alias("updatedAt"),
        pl.struct(pl.col("feature"), pl.col("tenant_id"),
                  pl.struct(pl.col("app").alias("service.name"), pl.lit("python").alias("telemetry.sdk.language"),
                            pl.lit("opentelemetry").alias("telemetry.sdk.name")).alias("resourceAttributes"),
                  pl.struct(pl.lit("langfuse-sdk").alias("name"), pl.lit("3.6.1").alias("version")).alias("scope"),
                  ).alias("metadata"),
        pl.when(failed).then(pl.col("model")).otherwise(pl.col("_response_model")).alias("providedModelName"),
        pl.col("provider").replace_strict(MODEL_DEFINITIONS, default=None, return_dtype=pl.String)
        .alias("internalModelId"),
        pl.struct(pl.lit("0.2").alias("temperature"), pl.lit("2048").alias("max_tokens")).alias("modelParameters"),
    ).struct.json_encode()
    tail = pl.struct(
        pl.col("_estimate").alias("totalCost"),
        pl.col("prompt_version").str.replace(r"@v\d+$", "").alias("promptName"),
        prompt.struct.field("field_1").cast(pl.Int64).alias("promptVersion"),
        (pl.col("latency_ms") / 1000).alias("latency"),
        pl.when(failed).then(None).otherwise(pl.col("latency_ms") // 4 / 1000).alias("timeToFirstToken"),
    ).struct.json_encode()
    # The encoded head and tail are objects; splice the usage groups between them.
    text = pl.concat_str([head.str.head(-1), pl.lit(',"usageDetails":'), usage, pl.lit(',"costDetails":'), cost,
                          pl.lit(',"providedUsageDetails":'), usage, pl.lit(","), tail.str.tail(-1)])
    return df.select("_ms", "id", text.alias("json"))


class LangfusePages:
    """A day's observations as cursor-paged files of ``PAGE_SIZE``; the last page has no cursor."""

    def __init__(self, folder: Path, day: date):
        self.folder, self.day = folder, day
        self.buffer: list[pl.DataFrame] = []
        self.pages: list[Path] = []
        self.count = 0

    def add(self, obs: pl.DataFrame) -> None:
        self.buffer.append(obs)
        self.count += obs.height
        pending = pl.concat(self.buffer)
        while pending.height > PAGE_SIZE:
            self._write(pending.head(PAGE_SIZE), more=True)
            pending = pending.slice(PAGE_SIZE)
        self.buffer = [pending]

    def close(self) -> list[Path]:
        pending = pl.concat(self.buffer) if self.buffer else None
        if pending is not None and pending.height:
            self._write(pending, more=False)
        return self.pages

    def _write(self, page: pl.DataFrame, more: bool) -> None:
        meta = {}
        if more:  # Langfuse's cursor: where the next page starts, base64-encoded
            last = page.row(-1, named=True)
            cursor = json.dumps({"lastStartTimeMs": last["_ms"], "lastId": last["id"]}, separators=(",", ":"))
            meta["cursor"] = base64.b64encode(cursor.encode()).decode()
        path = self.folder / f"observations-v2-{self.day.isoformat()}-p{len(self.pages) + 1:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = ",\n".join(page["json"].to_list())
        path.write_text('{"data": [\n' + body + '\n], "meta": ' + json.dumps(meta) + "}\n", encoding="utf-8")
        self.pages.append(path)
