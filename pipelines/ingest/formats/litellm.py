"""LiteLLM proxy spend logs: the ``LiteLLM_SpendLogs`` table exported as CSV or JSON.

One row per request through the proxy: ``request_id`` (the provider's response id on success),
``startTime``/``endTime`` (no time zone: UTC), ``model``, ``model_group``, ``custom_llm_provider``,
``prompt_tokens`` (includes cache reads and writes: LiteLLM counts the OpenAI way),
``completion_tokens`` (includes reasoning), ``spend`` (LiteLLM's own estimate, kept as
``reported_cost_usd``), ``metadata`` (JSON, as text in CSV: ``additional_usage_values`` with the
cache and reasoning details, ``spend_logs_metadata`` with what the app attached, ``status`` and
``error_information`` on failures), ``request_tags``, ``end_user``, ``session_id``, ``status``,
``cache_hit``. ``request_id`` is LiteLLM's own uuid where the provider returned no id (embeddings): then
it is the call id but not a provider id. ``cache_hit`` is LiteLLM's own *response* cache (no provider call): it becomes
``response_cache_hit``, never prompt caching. ``messages`` and ``response`` are never read.

CSV is recognised by a header with ``request_id``, ``spend`` and ``startTime``; JSON (lines, an
array, or a ``{"data": [...]}`` page) by a first record with the same keys.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.ingest.attributes import AttributeMapping, Params, member_sql
from pipelines.ingest.formats.base import Parsed, ParseContext, Sample
from pipelines.ingest.formats.calllog import CallLog, CallLogFormat, Rule, dimensions, mapped_fields
from pipelines.ingest.formats.csvrows import CsvRows, csv_rows
from pipelines.ingest.formats.jsonsource import first_record, json_records_sql
from pipelines.ingest.formats.tokens import bigint_sql, input_tokens_sql, output_tokens_sql
from pipelines.ingest.formats.values import bool_sql, json_list_sql, json_object_sql, latency_sql, money_sql, timestamp_sql
from pipelines.ingest.formats.vocabulary import finish_reason_sql, provider_sql, status_sql

KEYS = {"request_id", "spend", "starttime"}
# A uuid LiteLLM generated itself (8-4-4-4-12 hex), as opposed to a provider's response id (chatcmpl-…, msg_…).
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# Where the cache and reasoning details sit in metadata.additional_usage_values, most specific first.
CACHE_READ = ["$.cache_read_input_tokens", "$.prompt_tokens_details.cached_tokens"]
CACHE_WRITE = ["$.cache_creation_input_tokens"]
CACHE_WRITE_1H = ["$.cache_creation_token_details.ephemeral_1h_input_tokens", "$.cache_creation.ephemeral_1h_input_tokens"]
REASONING = ["$.completion_tokens_details.reasoning_tokens", "$.reasoning_tokens"]


class LiteLLMSpendLogs(CallLogFormat):
    name = "litellm_spend_logs"
    description = "LiteLLM proxy LiteLLM_SpendLogs export (CSV or JSON)"

    def sniff(self, sample: Sample) -> bool:
        header = {h.lower() for h in sample.csv_header}
        if header:
            return KEYS <= header
        return KEYS <= {k.lower() for k in first_record(sample)}

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        if not _is_csv(path):
            return super().parse(path, ctx)
        with csv_rows(path) as rows:  # a malformed row is one record to quarantine, not the file's columns lost
            parsed = self.read(path, ctx, Params(rows.params), rows=rows)
        if rows.bad.height:  # a malformed line may hold the messages: quarantine names its record only
            quarantine = pl.concat([rows.quarantine.with_columns(pl.lit(None, pl.String).alias("raw")), parsed.quarantine])
            parsed.quarantine = quarantine.sort("record")
        return parsed

    def declare(self, path: Path, ctx: ParseContext, mapping: AttributeMapping, params: Params,
                rows: CsvRows | None = None) -> CallLog:

        def top(key: str) -> str:
            return f"nullif(trim({member_sql('j', key, params)}), '')"

        def usage_text(paths: list[str]) -> str:
            return "coalesce(" + ", ".join(f"json_extract_string(usage, {params.add(p)})" for p in paths) + ")"

        def usage(paths: list[str]) -> str:
            return bigint_sql(usage_text(paths))

        def lookup(key: str) -> str:
            return f"coalesce({member_sql('slm', key, params)}, {member_sql('meta', key, params)}, {member_sql('j', key, params)})"

        tags = "list_concat(coalesce(request_tags, []), coalesce(meta_tags, []))"
        dims = mapped_fields(mapping, lookup, params, tags=tags, native=NATIVE,
                             fields=("app", "feature", "user_id", "tenant_id", "session_id", "prompt_version",
                                     "call_id", "trace_id", "parent_call_id"))
        # SpendLogs has no column for the output cap or the finish reason (they sit in the request and the
        # response, never read): only what the app attached to its metadata.
        max_tokens = bigint_sql("coalesce(" + ", ".join(lookup(k) for k in ("max_tokens", "max_output_tokens")) + ")")
        clp = top("custom_llm_provider")
        model = (
            f"(case when starts_with(coalesce({top('model')}, ''), {clp} || '/') "
            f"then substr({top('model')}, length({clp}) + 2) else coalesce({top('model')}, {top('model_group')}) end)"
        )
        cached, write, write_1h = usage(CACHE_READ), usage(CACHE_WRITE), usage(CACHE_WRITE_1H)
        reasoning = usage(REASONING)
        prompt, completion = bigint_sql(top("prompt_tokens")), bigint_sql(top("completion_tokens"))
        status_text = f"lower(coalesce({top('status')}, json_extract_string(meta, '$.status')))"
        error = "concat_ws(' ', " + ", ".join(
            f"json_extract_string(meta, '$.error_information.{k}')" for k in ("error_code", "error_class", "error_message")
        ) + ")"
        return CallLog(
            records=f"select t._record, to_json(t)::json as j from ({rows.sql()}) as t" if rows else json_records_sql(path),
            stages={
                "parsed": f"""
                    select _record, j, {json_object_sql("j->'metadata'")} as meta,
                           {json_list_sql("j->'request_tags'")} as request_tags
                    from records""",
                "unpacked": f"""
                    select *, meta->'spend_logs_metadata' as slm, meta->'additional_usage_values' as usage,
                           {json_list_sql("meta->'tags'")} as meta_tags,
                           {timestamp_sql(top('startTime'))} as started, {timestamp_sql(top('endTime'))} as ended
                    from parsed""",
            },
            fields={
                "call_id": f"coalesce({dims['call_id']}, {top('request_id')})",
                "occurred_at": "started",
                "provider": provider_sql(clp, model, params),
                "model_raw": f"nullif(trim({model}), '')",
                # The model group or deployment the request named (azure/<deployment>), not what served it.
                "model_served": "false",
                **dimensions(dims),
                "input_tokens": input_tokens_sql(prompt, cached, write),
                "cached_input_tokens": f"coalesce({cached}, 0)",
                "cache_write_tokens": f"coalesce({write}, 0)",
                "cache_write_1h_tokens": f"least(coalesce({write_1h}, 0), coalesce({write}, 0))",
                "output_tokens": output_tokens_sql(completion, reasoning),
                "reasoning_tokens": f"coalesce({reasoning}, 0)",
                "is_batch": "false",
                "status": status_sql(f"{status_text} in ('failure', 'failed', 'error')", error),
                "attempt": "1",
                "latency_ms": latency_sql("started", "ended"),
                "response_cache_hit": bool_sql(top("cache_hit")),
                # Where the provider returns no id (OpenAI embeddings), LiteLLM writes a uuid of its own: that
                # identifies nothing another source saw, so it is no provider id (the merge then matches
                # the call by its fingerprint, see int_calls_merged).
                "provider_request_id": f"case when not regexp_full_match(coalesce({top('request_id')}, ''), '{UUID}') "
                                       f"then {top('request_id')} end",
                "reported_cost_usd": money_sql(top("spend")),
                "max_output_tokens": max_tokens,
                "finish_reason": finish_reason_sql(lookup("finish_reason"), params),
                "trace_id": dims["trace_id"],
                "parent_call_id": dims["parent_call_id"],
            },
            helpers={"_start_text": top("startTime"), "_request_id": top("request_id")},
            rules=[
                Rule("request_id", "_request_id is null", "'missing request_id'"),
                Rule.timestamp("startTime", "_start_text", "a timestamp"),
                Rule("model", "model_raw is null", "'no model or model_group'"),
            ],
            counts={
                "prompt_tokens": top("prompt_tokens"), "completion_tokens": top("completion_tokens"),
                **{f"metadata.additional_usage_values{p[1:]}": usage_text([p])
                   for p in CACHE_READ + CACHE_WRITE + CACHE_WRITE_1H + REASONING},
            },
            # Quarantine names the request, never its messages or response.
            raw="case when _request_id is not null then json_object('request_id', _request_id)::varchar end",
        )


# LiteLLM's own fields for a canonical field, after the configured keys and before the conventions.
NATIVE = {
    "user_id": ("nullif(trim(j->>'end_user'), '')", "nullif(trim(meta->>'user_api_key_end_user_id'), '')"),
    "session_id": ("nullif(trim(j->>'session_id'), '')",),
}


def _is_csv(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    return not head.startswith(("{", "["))
