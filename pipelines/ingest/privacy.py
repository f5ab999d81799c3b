"""Personal data: users pseudonymised with a keyed hash, prompt and response text never kept.

The lake and the warehouse hold user ids hashed when ``TOKENBOOKS_USER_HASH_KEY`` is set (:func:`pseudonymise`)
and never hold prompt or response text. Quarantine keeps a bad record's text for whoever fixes the source, and
must not keep more than that: :func:`scrub` applies the same hashing and strips the text fields from it, for
every format.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import duckdb
import polars as pl

from pipelines.db import frame
from pipelines.ingest.attributes import DEFAULT_KEYS

# Keys whose value is prompt or response text, in any source (canonical, Langfuse, LiteLLM, OTel, Bedrock, OpenAI).
TEXT_KEYS = frozenset(k.lower() for k in (
    "messages", "prompt", "prompts", "completion", "completions", "input", "output", "content", "contents",
    "response", "responses", "text", "system", "instructions", "choices", "inputBodyJson", "outputBodyJson",
    "gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
    "gen_ai.system_instructions", "llm.prompts", "llm.completions",
))
# Keys whose value names a user: the conventions every log parser looks at, and each source's own.
USER_KEYS = frozenset(k.lower() for k in (
    *(k for k in DEFAULT_KEYS["user_id"] if not k.startswith("tag:")),
    "user", "userId", "end_user", "enduser", "user_api_key_end_user_id", "user_email", "email",
))
REMOVED = "<removed: prompt or response text>"


def user_hash(value: str, key: str) -> str:
    """The pseudonym of one user id: the first 16 hex digits of SHA-256(key, 0x1F, id), as :func:`pseudonymise`."""
    return "u_" + hashlib.sha256((key + "\x1f" + value).encode()).hexdigest()[:16]


def pseudonymise(rows: pl.DataFrame, key: str) -> pl.DataFrame:
    """Replace user_id by a keyed SHA-256 (first 16 hex chars): groupable, not reversible without the key."""
    con = duckdb.connect()
    con.register("users", rows.select(pl.col("user_id").unique().drop_nulls()))
    mapped = frame(con, "select user_id, 'u_' || left(sha256($key || chr(31) || user_id), 16) as hashed from users", {"key": key})
    con.close()
    return (
        rows.join(mapped, on="user_id", how="left")
        .with_columns(pl.col("hashed").alias("user_id"))
        .drop("hashed")
    )


def scrub_quarantine(quarantine: pl.DataFrame, key: str | None, extra_user_keys: list[str] = ()) -> pl.DataFrame:
    """The quarantine rows with their ``raw`` text scrubbed (see :func:`scrub`)."""
    if quarantine.is_empty() or "raw" not in quarantine.columns or quarantine["raw"].null_count() == quarantine.height:
        return quarantine
    users = USER_KEYS | {k.lower() for k in extra_user_keys}
    return quarantine.with_columns(
        pl.col("raw").map_elements(lambda raw: scrub(raw, key, users), return_dtype=pl.String, skip_nulls=True)
    )


def scrub(raw: str, key: str | None, users: frozenset[str] | set[str] = USER_KEYS) -> str:
    """``raw`` (a record's JSON, or a line that is not JSON) without prompt or response text, and with user ids
    hashed when ``key`` is set. A line that does not parse is cut before its first such key."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return _cut(raw, key, users)
    return json.dumps(_walk(doc, key, users), ensure_ascii=False)


def _walk(value: Any, key: str | None, users, mode: str | None = None) -> Any:
    """``mode``: "text" inside a text field (every string in it goes), "user" inside a user field (hashed)."""
    if isinstance(value, dict):
        if mode is None and "key" in value and set(value) <= {"key", "value"}:  # an OTel attribute {key, value}
            inner = _mode(str(value["key"]).lower(), key, users)
            if inner:
                return {"key": value["key"], "value": _walk(value.get("value"), key, users, inner)}
        return {k: _walk(v, key, users, mode or _mode(str(k).lower(), key, users)) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, key, users, mode) for v in value]
    if mode == "text" and isinstance(value, str):
        return REMOVED  # counts beside the text (Bedrock's input.inputTokenCount) stay
    if mode == "user" and isinstance(value, str):
        return user_hash(value, key)
    return value


def _mode(name: str, key: str | None, users) -> str | None:
    if name in TEXT_KEYS:
        return "text"
    return "user" if key and name in users else None


def _cut(raw: str, key: str | None, users) -> str:
    sensitive = TEXT_KEYS | (users if key else frozenset())
    cut = min((m.start() for m in _KEY.finditer(raw) if m.group(1).lower() in sensitive), default=None)
    return raw if cut is None else raw[:cut] + "<cut: the rest may hold prompt text or a user id>"


_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')
