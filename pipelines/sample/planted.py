"""Planted usage that no application logs: a nightly batch job and a playground workspace.

(The third planted gap, SDK retries the app never logged, is drawn with the calls in
``calls.py`` because it copies real calls' tokens.) Sizes scale with the day's calls.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipelines.sample.frames import TOKEN_COLUMNS, USAGE_KEYS
from pipelines.sample.org import GAPS
from pipelines.sample.orgs import MODEL_INDEX, OWNER_INDEX

BATCH_HOURS = (2, 3)  # the job runs at 02:00 UTC and finishes within two hours
PLAYGROUND_HOURS = tuple(range(9, 19))


def _usage(hours, model: str, owner: str, is_batch: bool, requests, inp, cached, out) -> pl.DataFrame:
    n = len(hours)
    zeros = np.zeros(n, dtype=np.int64)
    return pl.DataFrame({
        "hour": np.array(hours, dtype=np.int8), "model": np.full(n, MODEL_INDEX[model], dtype=np.int16),
        "owner": np.full(n, OWNER_INDEX[owner], dtype=np.int16), "is_batch": np.full(n, is_batch),
        "long_context": np.zeros(n, dtype=bool), "requests": np.asarray(requests, dtype=np.int64),
        "input_tokens": np.asarray(inp, dtype=np.int64), "cached_input_tokens": np.asarray(cached, dtype=np.int64),
        "cache_write_tokens": zeros, "cache_write_1h_tokens": zeros,
        "output_tokens": np.asarray(out, dtype=np.int64), "reasoning_tokens": zeros,
    }).select(*USAGE_KEYS, "requests", *TOKEN_COLUMNS)


def batch_job(rng: np.random.Generator, calls_today: int) -> pl.DataFrame:
    """Planted gap 2: a nightly OpenAI Batch API job in its own project, never logged."""
    total = max(20, round(calls_today * GAPS.batch_requests_per_call))
    first = int(total * rng.uniform(0.55, 0.75))
    req = np.array([first, total - first])
    inp = np.rint(req * 1800 * rng.uniform(0.9, 1.1, 2))
    out = np.rint(req * 260 * rng.uniform(0.9, 1.1, 2))
    return _usage(BATCH_HOURS, GAPS.batch_model, "nightly-batch/openai", True, req, inp, np.zeros(2), out)


def playground(rng: np.random.Generator, day: date, calls_per_day: int) -> pl.DataFrame:
    """Planted gap 3: people trying prompts in the Anthropic console's playground workspace."""
    factor = 1.0 if day.weekday() < 5 else 0.25
    total = max(3, round(calls_per_day * GAPS.playground_requests_per_call * factor))
    per_hour = np.bincount(rng.integers(0, len(PLAYGROUND_HOURS), total), minlength=len(PLAYGROUND_HOURS))
    hours = [h for h, c in zip(PLAYGROUND_HOURS, per_hour) if c]
    req = per_hour[per_hour > 0]
    inp = np.rint(req * 12000 * rng.uniform(0.6, 1.4, req.size))
    out = np.rint(req * 1500 * rng.uniform(0.6, 1.4, req.size))
    return _usage(hours, GAPS.playground_model, "playground/anthropic", False, req, inp, np.zeros(req.size), out)
