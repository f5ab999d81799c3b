"""What the application call-log parsers share: attribute mapping and the normalisation rules.

Every app log format (OpenTelemetry spans, LiteLLM spend logs, Langfuse observations,
Bedrock invocation logs) names the app, feature, user, tenant, session and prompt
version differently. ``AttributeMapping`` turns the ``attributes:`` section of
``tokenbooks.yaml`` plus the conventions below into one SQL expression per canonical
field, evaluated by DuckDB over the whole file at once (never row by row).

A source key is either a plain name (an OTel attribute, a metadata key, a Bedrock
``requestMetadata`` key or one of the source's own top-level fields; each parser says
where it looks) or ``tag:NAME``, the value of a tag written ``NAME:value`` or
``NAME=value``. Look-up order per field: the keys configured in ``tokenbooks.yaml``,
then the source's own native field (LiteLLM ``end_user``, Langfuse ``userId`` …), then
the conventional keys in ``DEFAULT_KEYS``. Nothing else: an unmapped field stays null.

Keys come from configuration, so they reach SQL only as bound parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.ingest.formats.base import LINE_ARGS, LINES, MAX_LINE_BYTES
from pipelines.ingest.formats.envelopes import check_data_envelopes
from pipelines.ingest.formats.values import instant_sql, whole_number_sql
from pipelines.settings import ConfigError, Settings

# The fields a call's attribution needs; the ids after them join its records across sources.
DIMENSIONS = ("app", "feature", "user_id", "tenant_id", "session_id", "prompt_version")
# Agent traces: the trace a call belongs to and the call (or span) that made it, where the source says.
TRACE_FIELDS = ("trace_id", "parent_call_id")
FIELDS = (*DIMENSIONS, "call_id", "provider_request_id", *TRACE_FIELDS)

# Keys of the same ``attributes:`` section read elsewhere: ``team`` names provider tags that own
# unattributed spend (``formats/billing.py``); call logs have no team field.
OTHER_SECTION_KEYS = ("team",)

# Conventions, in priority order. OTel semantic conventions first, then plain names and tags.
DEFAULT_KEYS: dict[str, list[str]] = {
    "app": ["service.name", "app", "app.name", "tag:app"],
    "feature": ["app.feature", "feature", "tag:feature"],
    "user_id": ["user.id", "enduser.id", "user_id", "tag:user"],
    "tenant_id": ["tenant.id", "tenant_id", "tenant", "tag:tenant"],
    "session_id": ["gen_ai.conversation.id", "session.id", "session_id", "conversation_id"],
    "prompt_version": ["prompt_version", "tag:prompt_version"],
    # The app's own id of the call (what the canonical log calls call_id) joins sources without a provider id.
    "call_id": ["call_id", "app.call_id", "tokenbooks.call_id"],
    "provider_request_id": ["gen_ai.response.id", "provider_request_id", "response_id"],
    "trace_id": ["trace_id", "trace.id", "litellm_trace_id"],
    "parent_call_id": ["parent_call_id", "parent_id"],
}
# A prompt version is also composed from a prompt name and version (``summarise@v7``).
PROMPT_NAME_KEYS = ["gen_ai.prompt.name", "prompt.name", "prompt_name", "prompt_id"]
PROMPT_VERSION_KEYS = ["gen_ai.prompt.version", "prompt.version"]

Lookup = Callable[[str], str]


class Params(dict):
    """Values bound to one query; ``add`` returns the placeholder."""

    def add(self, value) -> str:
        name = f"a{len(self)}"
        self[name] = value
        return f"${name}"


@dataclass
class AttributeMapping:
    """Canonical field -> source keys, configured keys first."""

    configured: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AttributeMapping":
        mapping = settings.attribute_mapping
        unknown = sorted(set(mapping) - set(FIELDS) - set(OTHER_SECTION_KEYS))
        if unknown:
            raise ConfigError(
                f"{settings.config_path}: attributes: unknown field(s) {', '.join(unknown)}; "
                f"mappable fields are {', '.join(FIELDS + OTHER_SECTION_KEYS)}"
            )
        return cls(configured={k: [str(x) for x in v if x is not None] for k, v in mapping.items() if k in FIELDS})

    def keys(self, name: str) -> list[str]:
        out = list(self.configured.get(name, []))
        return out + [k for k in DEFAULT_KEYS[name] if k not in out]

    def plain_keys(self) -> list[str]:
        """Every non-tag key any field may look at (what a parser must extract)."""
        keys = [k for name in FIELDS for k in self.keys(name)] + PROMPT_NAME_KEYS + PROMPT_VERSION_KEYS
        return list(dict.fromkeys(k for k in keys if not k.startswith("tag:")))

    def sql(
        self,
        name: str,
        lookup: Lookup,
        params: Params,
        tags: str | None = None,
        native: Iterable[str] = (),
    ) -> str:
        """SQL for one canonical field: configured keys, then native expressions, then conventions.

        ``lookup(key)`` returns the parser's SQL for a plain key (using ``params``);
        ``tags`` is the SQL of the record's tag list, if the source has tags;
        ``native`` are the parser's own SQL expressions for this field (code constants).
        """
        configured = self.configured.get(name, [])
        parts = [self._key_sql(k, lookup, params, tags) for k in configured]
        parts += list(native)
        if name == "prompt_version":
            parts.append(
                prompt_version_sql(
                    _first(self._key_sql(k, lookup, params, tags) for k in PROMPT_NAME_KEYS),
                    _first(self._key_sql(k, lookup, params, tags) for k in PROMPT_VERSION_KEYS),
                )
            )
        parts += [self._key_sql(k, lookup, params, tags) for k in DEFAULT_KEYS[name] if k not in configured]
        return _first(parts)

    @staticmethod
    def _key_sql(key: str, lookup: Lookup, params: Params, tags: str | None) -> str:
        if key.startswith("tag:"):
            return tag_sql(tags, key[4:], params) if tags else "null"
        return f"nullif(trim({lookup(key)}), '')"


def _first(parts: Iterable[str]) -> str:
    parts = [p for p in parts if p and p != "null"]
    if not parts:
        return "null::varchar"
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def tag_sql(tags: str, name: str, params: Params) -> str:
    """Value of the first tag ``name:value`` or ``name=value`` in the list expression ``tags``."""
    colon, equals = params.add(name.lower() + ":"), params.add(name.lower() + "=")
    return (
        f"nullif(trim([substr(t, length({colon}) + 1) for t in coalesce({tags}, []) "
        f"if lower(t) ^@ {colon} or lower(t) ^@ {equals}][1]), '')"
    )


def prompt_version_sql(name: str, version: str) -> str:
    """``name@vN`` from a prompt name and version; either alone when the other is missing."""
    return (
        f"(case when ({version}) like '%@%' then ({version}) "
        f"when ({name}) is not null and ({version}) is not null "
        f"then ({name}) || '@v' || ltrim(({version}), 'vV') "
        f"else coalesce(({name}), ({version})) end)"
    )


def json_path(key: str) -> str:
    """A JSONPath addressing ``key`` as one member name (dots and all): ``$."user.id"``."""
    return "$." + json.dumps(key)


def json_dotted_path(key: str) -> str:
    """A JSONPath walking ``key``'s dotted segments: ``identity.arn`` -> ``$."identity"."arn"``."""
    return "$" + "".join("." + json.dumps(part) for part in key.split("."))


# ---- normalisation shared by every app log ----------------------------------------------------

# Provider names as each source writes them -> the ids genai-prices and the rest of tokenbooks use.
PROVIDER_IDS = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_openai": "azure",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "aws_bedrock": "aws",
    "aws": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "vertexai": "google",
    "google": "google",
    "google_genai": "google",
    "openrouter": "openrouter",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "mistral": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "cohere": "cohere",
}


def provider_sql(raw: str, model: str, params: Params) -> str:
    """Canonical provider id from the source's provider name, else from the model name, else 'unknown'.

    Inferring from the model name only uses unambiguous families (gpt-/o-series, claude, gemini);
    a gateway's provider column, when present, always wins.
    """
    names = params.add(list(PROVIDER_IDS))
    ids = params.add(list(PROVIDER_IDS.values()))
    m = f"lower(coalesce({model}, ''))"
    return f"""coalesce(
        {ids}[list_position({names}, lower(trim({raw})))],
        nullif(lower(trim({raw})), ''),
        case
            when regexp_matches({m}, '^(arn:aws:bedrock|(us|eu|apac|global)\\.)') then 'aws'
            when regexp_matches({m}, '^(openai/)?(gpt-|chatgpt-|o[1-9]|text-embedding-|davinci|babbage)') then 'openai'
            when regexp_matches({m}, '^(anthropic/)?claude') then 'anthropic'
            when regexp_matches({m}, '^(google/|models/)?gemini') then 'google'
        end,
        'unknown')"""


def status_sql(failed: str, detail: str) -> str:
    """Canonical status: ``ok`` unless ``failed``; a failure is classified from its error text."""
    d = f"lower(coalesce({detail}, ''))"
    return f"""case
        when not coalesce({failed}, false) then 'ok'
        when regexp_matches({d}, '429|rate.?limit|too.?many.?requests|throttl|quota') then 'rate_limited'
        when regexp_matches({d}, 'timeout|timed.?out|deadline') then 'timeout'
        when regexp_matches({d}, 'cancel|abort|disconnect') then 'aborted'
        else 'error' end"""


# Finish reasons as providers write them -> the canonical five (stop, length, tool_calls, content_filter, error);
# anything else is kept as written. Matched case-insensitively.
FINISH_REASONS = {
    "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "complete": "stop", "eos": "stop",
    "length": "length", "max_tokens": "length", "max_output_tokens": "length", "token_limit": "length",
    "tool_calls": "tool_calls", "tool_use": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter", "safety": "content_filter", "recitation": "content_filter",
    "prohibited_content": "content_filter", "blocklist": "content_filter", "spii": "content_filter",
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter", "refusal": "content_filter",
    "error": "error", "malformed_function_call": "error",
}


def finish_reason_sql(raw: str, params: Params) -> str:
    """The canonical finish reason of ``raw`` (see FINISH_REASONS); an unknown one as written, blank as null."""
    names, values = params.add(list(FINISH_REASONS)), params.add(list(FINISH_REASONS.values()))
    # A list written as JSON text (["stop"]) gives its first element: one choice, one reason.
    first = f"""trim(split_part(trim(trim({raw}), '[]'), ',', 1), ' "')"""
    return f"coalesce({values}[list_position({names}, lower({first}))], nullif({first}, ''))"


def bigint_sql(expr: str) -> str:
    """A token count from text that may read ``12``, ``12.0`` or ``1.2e3``; null for ``1.5`` (never rounded)."""
    return whole_number_sql(expr)


def count_errors_sql(counts: dict[str, str]) -> tuple[str, str]:
    """(field, reason) SQL naming the first of ``counts`` (field name -> SQL of its text) that is present but not a
    whole number >= 0, else null: the record is quarantined rather than its count read as 0 or rounded."""
    bad = {name: f"({text} is not null and coalesce({bigint_sql(text)} < 0, true))" for name, text in counts.items()}
    field = " ".join(f"when {cond} then '{name}'" for name, cond in bad.items())
    reason = " ".join(
        f"when {cond} then 'not a token count (a whole number >= 0): ' || left({counts[name]}, 40)" for name, cond in bad.items()
    )
    return f"(case {field} end)", f"(case {reason} end)"


def input_tokens_sql(reported: str, cached: str, write: str) -> str:
    """Input including cache reads and writes, whichever way the source counted.

    Sources that follow the convention already include them (then reads + writes <= input);
    when reads + writes exceed the reported input, the source counted uncached input only
    and the cache parts are added.
    """
    return (
        f"(case when coalesce({cached}, 0) + coalesce({write}, 0) > coalesce({reported}, 0) "
        f"then coalesce({reported}, 0) + coalesce({cached}, 0) + coalesce({write}, 0) "
        f"else coalesce({reported}, 0) end)"
    )


def output_tokens_sql(reported: str, reasoning: str) -> str:
    """Output including reasoning tokens (added when the source reported them separately)."""
    return (
        f"(case when coalesce({reasoning}, 0) > coalesce({reported}, 0) "
        f"then coalesce({reported}, 0) + coalesce({reasoning}, 0) else coalesce({reported}, 0) end)"
    )


# ---- reading ---------------------------------------------------------------------------------

def dimension_columns(dims: dict[str, str]) -> str:
    """The mapped dimensions as select-list entries (``<expr> as app, …``), in the canonical order."""
    return ", ".join(f"{dims[f]} as {f}" for f in DIMENSIONS)


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


def lines_sql(numbered: bool = True) -> str:
    """Every line of the file ``$path`` as ``raw`` (blank lines as null), with its 1-based number ``_record``.

    A buffer as large as the longest allowed line lets DuckDB split the file across threads.
    Numbering (``with ordinality``) keeps the pipeline in file order on one thread; a big file
    reads ``numbered=False`` and counts lines itself (see ``otel.py``).
    """
    if not numbered:
        return LINES
    return f"read_csv($path, {LINE_ARGS}, buffer_size={MAX_LINE_BYTES}) with ordinality as lines(raw, _record)"


def json_records_sql(path: Path) -> str:
    """SQL yielding ``(_record, j JSON)``: one row per JSON object, whatever the file's layout.

    JSON lines (an object per line; a line holding a paged envelope ``{"data": [...]}``
    yields its items), a JSON array of objects, or one (pretty-printed) envelope. A line
    that is not JSON comes back with ``j`` null so the caller can quarantine it.
    """
    layout = _json_layout(path)
    if layout != "array" and _has_envelope(path):
        con = connect()
        try:
            check_data_envelopes(con, path)  # a page whose data is not a list is refused, never "0 records"
        finally:
            con.close()
    if layout == "lines":
        return f"""
            select _record, unnest(case
                    when not json_valid(raw) then [null::json]
                    when json_type(raw::json) = 'OBJECT' and json_type(raw::json, '$.data') = 'ARRAY'
                        then json_extract(raw::json, '$.data[*]')
                    else [raw::json] end) as j
            from {lines_sql()}
            where trim(raw) <> ''"""
    if layout == "array":
        return f"""
            select _record, json as j
            from read_json_objects($path, format='array', maximum_object_size={MAX_LINE_BYTES})
                with ordinality as r(json, _record)"""
    return """
        select i._record, i.j
        from read_text($path) as f,
             unnest(json_extract(f.content::json, '$.data[*]')) with ordinality as i(j, _record)"""


def _has_envelope(path: Path) -> bool:
    with open(path, "rb") as fh:
        return b'"data"' in fh.read(4096)


def _json_layout(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    if head.startswith("["):
        return "array"
    if head.startswith("{"):
        first = head.split("\n", 1)[0].strip()
        try:
            json.loads(first)
            return "lines"
        except ValueError:
            return "document"  # a single pretty-printed envelope
    return "lines"


def first_record(sample) -> dict:
    """The first record of a JSON-lines file, JSON array or paged envelope, for sniffing.

    Works on the head of the file only: when the head cuts a large array or envelope, the
    first item is decoded on its own.
    """
    text = sample.text.lstrip()
    for candidate in (sample.first_line, text):
        try:
            return _record_of(json.loads(candidate))
        except ValueError:
            continue
    start = re.match(r"\[\s*", text) or re.search(r'"data"\s*:\s*\[\s*', text)
    if start:
        try:
            return _record_of(json.JSONDecoder().raw_decode(text, start.end())[0])
        except ValueError:
            return {}
    return {}


def _record_of(doc) -> dict:
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        doc = doc["data"][0] if doc["data"] else {}
    return doc if isinstance(doc, dict) else {}


# ---- typed values out of JSON text ---------------------------------------------------------------


def money_sql(expr: str) -> str:
    """A USD amount from its text (decimal strings and JSON numbers alike) straight to DECIMAL, never a float."""
    return f"coalesce(try_cast({expr} as decimal(38, 12)), try_cast(try_cast({expr} as double) as decimal(38, 12)))"


def bool_sql(expr: str) -> str:
    """True for ``true``/``True``/``1``/``yes``; false otherwise (a missing flag is false)."""
    return f"coalesce(lower(trim({expr})) in ('true', '1', 'yes', 't', 'hit'), false)"


def timestamp_sql(expr: str) -> str:
    """An instant from ISO text where the source documents zone-less times as UTC (LiteLLM); sources that promise
    RFC 3339 read with ``values.rfc3339_sql``. An offset past 23:59 is refused either way."""
    return instant_sql(expr)


def latency_sql(start: str, end: str) -> str:
    return f"case when {end} >= {start} then (epoch_ms({end}) - epoch_ms({start}))::bigint end"


def json_object_sql(expr: str) -> str:
    """A JSON object whether the source holds it as an object or as JSON text in a string (CSV exports)."""
    return (
        f"(case when json_type({expr}) = 'OBJECT' then {expr} "
        f"when json_type({expr}) = 'VARCHAR' and json_valid({expr}->>'$') "
        f"and json_type(({expr}->>'$')::json) = 'OBJECT' then ({expr}->>'$')::json end)"
    )


def json_list_sql(expr: str) -> str:
    """A list of strings from a JSON array, or from JSON text holding one (tags in CSV exports)."""
    return (
        f"(case when json_type({expr}) = 'ARRAY' then from_json({expr}, '[\"VARCHAR\"]') "
        f"when json_type({expr}) = 'VARCHAR' and json_valid({expr}->>'$') "
        f"and json_type(({expr}->>'$')::json) = 'ARRAY' then from_json(({expr}->>'$')::json, '[\"VARCHAR\"]') end)"
    )


def member_sql(obj: str, key: str, params: Params) -> str:
    """Member ``key`` (taken whole, dots and all) of the JSON object ``obj``, as text; the key is bound."""
    return f"json_extract_string({obj}, {params.add(json_path(key))})"


def run_sql(path: Path, sql: str, params: dict):
    """Run a parser's query on its own UTC connection; a reader choking on the file is an InputError."""
    from pipelines.ingest.formats.base import read_error

    con = connect()
    try:
        return con.sql(sql, params=params).pl()
    except (duckdb.InvalidInputException, duckdb.ConversionException) as e:
        raise read_error(path, e) from None
    finally:
        con.close()
