"""Langfuse observations from its public API, v1 and v2: the generations.

- v1 ``GET /api/public/observations``: paged envelope ``{"data": [...], "meta": {page, limit,
  totalItems, totalPages}}``; an observation names its model in ``model``.
- v2 ``GET /api/public/v2/observations`` (``ObservationV2``): cursor envelope ``{"data": [...],
  "meta": {"cursor": ...}}``; no ``model`` field: ``providedModelName`` is the model as the app
  named it, ``internalModelId``/``modelId`` the id of the Langfuse model definition that priced it
  (an id, not a model name: not read), ``totalCost`` the cost; ``userId``, ``sessionId``, trace
  ``tags`` on the observation.

A file holds JSON lines of observations or of envelopes (one page per line), a JSON array of
observations or of envelopes, or one envelope. Only observations of type ``GENERATION`` or
``EMBEDDING`` are model calls; spans and events are ignored and not counted. The model is the one
that served where the observation says it (``gen_ai.response.model`` in its metadata or OTel
attributes), else ``model`` (v1), else ``providedModelName`` (v2).

``usageDetails`` splits usage by type, and ``input`` there is the *uncached* input: Langfuse's
integrations subtract the cached and cache-creation parts (``input_cached_tokens``,
``input_cache_read``, ``input_cache_creation``, ``input_cache_creation_5m``/``_1h``) and the
reasoning part of the output (``output_reasoning_tokens``), so the canonical input and output add
them back. ``costDetails.total`` (decimal strings or numbers), else ``totalCost`` (v2), else
``calculatedTotalCost`` (v1) is Langfuse's own estimate: kept as ``reported_cost_usd``. ``promptName`` + ``promptVersion`` make the prompt version
(``summarise@v7``). ``input`` and ``output`` (prompt and completion text) are never read.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.attributes import AttributeMapping, Params, member_sql, prompt_version_sql
from pipelines.ingest.formats.base import ParseContext, Sample
from pipelines.ingest.formats.calllog import CallLog, CallLogFormat, Rule, dimensions, mapped_fields
from pipelines.ingest.formats.jsonsource import first_record, json_records_sql
from pipelines.ingest.formats.tokens import bigint_sql, input_tokens_sql
from pipelines.ingest.formats.values import json_list_sql, json_object_sql, latency_sql, money_sql, rfc3339_sql
from pipelines.ingest.formats.vocabulary import finish_reason_sql, provider_sql, status_sql

CALL_TYPES = ["GENERATION", "EMBEDDING"]
# usageDetails keys, most specific first.
CACHE_READ = ["input_cache_read", "input_cached_tokens", "cache_read_input_tokens"]
CACHE_WRITE = ["input_cache_creation", "cache_creation_input_tokens"]
REASONING = ["output_reasoning_tokens", "output_reasoning", "reasoning_tokens"]
# Metadata keys naming the provider (Langfuse has no provider field of its own).
PROVIDER_KEYS = ["provider", "gen_ai.provider.name", "gen_ai.system", "ls_provider", "custom_llm_provider"]
# Metadata keys naming the model that served the call, before the model the app asked for.
SERVED_MODEL_KEYS = ["gen_ai.response.model"]
MAX_TOKENS_KEYS = ["max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens"]
# Langfuse has no finish-reason field; OTel-ingested observations carry the span's attribute in metadata.
FINISH_KEYS = ["finish_reason", "gen_ai.response.finish_reasons"]


class LangfuseObservations(CallLogFormat):
    name = "langfuse_observations"
    description = "Langfuse observations (public API; generations), JSON lines, array or paged envelope"

    def sniff(self, sample: Sample) -> bool:
        first = first_record(sample)
        return {"id", "traceId", "type", "startTime"} <= first.keys() and bool(
            {"usageDetails", "usage", "costDetails", "model", "providedModelName"} & first.keys()
        )

    def params(self, path: Path, ctx: ParseContext) -> Params:
        return Params(path=str(path), call_types=CALL_TYPES)

    def declare(self, path: Path, ctx: ParseContext, mapping: AttributeMapping, params: Params, **source) -> CallLog:
        def top(key: str) -> str:
            return f"nullif(trim({member_sql('j', key, params)}), '')"

        def ud_text(keys: list[str]) -> str:
            return "coalesce(" + ", ".join(member_sql("ud", k, params) for k in keys) + ")"

        def ud(keys: list[str]) -> str:
            return bigint_sql(ud_text(keys))

        def lookup(key: str) -> str:
            return (
                f"coalesce({member_sql('meta', key, params)}, {member_sql('meta_attrs', key, params)}, "
                f"{member_sql('meta_resource', key, params)}, {member_sql('j', key, params)})"
            )

        native = {
            "user_id": (top("userId"),),
            "session_id": (top("sessionId"),),
            "prompt_version": (prompt_version_sql(top("promptName"), top("promptVersion")),),
            "trace_id": (top("traceId"),),
            "parent_call_id": (top("parentObservationId"),),
        }
        dims = mapped_fields(mapping, lookup, params, tags="tags", native=native)
        # modelParameters holds the request's parameters, numbers often as strings ("256").
        max_tokens = bigint_sql("coalesce(" + ", ".join(
            member_sql("json_extract(j, '$.modelParameters')", k, params) for k in MAX_TOKENS_KEYS) + ")")
        finish = "coalesce(" + ", ".join(lookup(k) for k in FINISH_KEYS) + ")"
        w5, w1 = ud(["input_cache_creation_5m"]), ud(["input_cache_creation_1h"])
        cached = ud(CACHE_READ)
        write = f"coalesce({ud(CACHE_WRITE)}, case when {w5} is not null or {w1} is not null then coalesce({w5}, 0) + coalesce({w1}, 0) end)"
        reasoning = ud(REASONING)
        legacy_in_text = f"coalesce(json_extract_string(j, '$.usage.input'), {top('promptTokens')})"
        legacy_out_text = f"coalesce(json_extract_string(j, '$.usage.output'), {top('completionTokens')})"
        legacy_in, legacy_out = bigint_sql(legacy_in_text), bigint_sql(legacy_out_text)
        provider_raw = "coalesce(" + ", ".join(lookup(k) for k in PROVIDER_KEYS) + ")"
        cost = money_sql(
            f"coalesce(json_extract_string(j, '$.costDetails.total'), {top('totalCost')}, {top('calculatedTotalCost')})"
        )
        model_raw = "coalesce(" + ", ".join(
            [f"nullif(trim({lookup(k)}), '')" for k in SERVED_MODEL_KEYS] + [top("model"), top("providedModelName")]
        ) + ")"
        return CallLog(
            records=json_records_sql(path),
            stages={
                # A JSON array of pages: each element an envelope whose data are the observations.
                "observations": """
                    select _record, unnest(case when json_type(j, '$.data') = 'ARRAY' then json_extract(j, '$.data[*]')
                                                else [j] end) as j
                    from records""",
                "generations": "select _record, j from observations where j is null or list_contains($call_types, upper(j->>'type'))",
                "unpacked": f"""
                    select _record, j, {json_object_sql("j->'metadata'")} as meta, {json_object_sql("j->'usageDetails'")} as ud,
                           {json_list_sql("j->'tags'")} as tags,
                           {rfc3339_sql(top('startTime'))} as started, {rfc3339_sql(top('endTime'))} as ended
                    from generations""",
                # usageDetails' input and output exclude the cache and reasoning parts: add them back.
                "tokens": f"""
                    select *, meta->'attributes' as meta_attrs, meta->'resourceAttributes' as meta_resource,
                           case when ud is not null
                               then coalesce({ud(['input'])}, 0) + coalesce({cached}, 0) + coalesce({write}, 0)
                               else {input_tokens_sql(legacy_in, '0', '0')} end as _input,
                           case when ud is not null
                               then coalesce({ud(['output'])}, 0) + coalesce({reasoning}, 0)
                               else coalesce({legacy_out}, 0) end as _output
                    from unpacked""",
            },
            fields={
                "call_id": f"coalesce({dims['call_id']}, {top('id')})",
                "occurred_at": "started",
                "provider": provider_sql(provider_raw, model_raw, params),
                "model_raw": model_raw,
                **dimensions(dims),
                "input_tokens": "_input",
                "cached_input_tokens": f"coalesce({cached}, 0)",
                "cache_write_tokens": f"coalesce({write}, 0)",
                "cache_write_1h_tokens": f"least(coalesce({w1}, 0), coalesce({write}, 0))",
                "output_tokens": "_output",
                "reasoning_tokens": f"coalesce({reasoning}, 0)",
                "is_batch": "false",
                "status": status_sql(f"upper({top('level')}) = 'ERROR'", top("statusMessage")),
                "attempt": "1",
                "latency_ms": latency_sql("started", "ended"),
                "response_cache_hit": "false",
                "provider_request_id": dims["provider_request_id"],
                "reported_cost_usd": cost,
                "max_output_tokens": max_tokens,
                "finish_reason": finish_reason_sql(finish, params),
                "trace_id": dims["trace_id"],
                "parent_call_id": dims["parent_call_id"],
            },
            helpers={"_id": top("id"), "_start_text": top("startTime")},
            rules=[
                Rule("id", "_id is null", "'observation without id'"),
                Rule.timestamp("startTime", "_start_text"),
                Rule("model", "model_raw is null", "'generation without model'"),
            ],
            counts={
                **{f"usageDetails.{k}": ud_text([k]) for k in ["input", "output", *CACHE_READ, *CACHE_WRITE, *REASONING,
                                                             "input_cache_creation_5m", "input_cache_creation_1h"]},
                # The legacy usage is read only without usageDetails (and may count seconds or images then).
                "usage.input": f"case when ud is null then {legacy_in_text} end",
                "usage.output": f"case when ud is null then {legacy_out_text} end",
            },
            # Quarantine names the observation, never its input or output.
            raw="case when _id is not null then json_object('id', _id)::varchar end",
        )
